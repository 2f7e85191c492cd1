"""The one meaning: the typed IR and its lowering, the primitives, the interpreter with its
explanations, the Python generator, and how lead values are read.
"""
