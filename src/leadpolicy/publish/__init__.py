"""The documentation site, plain English, pictures and the Pygments lexer."""
