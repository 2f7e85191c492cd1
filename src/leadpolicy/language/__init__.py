"""Text to a checked tree: the parser, the syntax tree, names and types, diagnostics, the checks,
reasoning over conditions and the formatter.
"""
