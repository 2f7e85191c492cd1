"""One module per command: `register` adds its arguments, `run` does it."""

# In the order `leadpolicy --help` lists them.
NAMES = ("init", "check", "approve", "ci", "docs", "diff", "prove", "test", "explain", "compile", "score", "assign",
         "simulate", "sla", "serve", "feedback", "backtest", "calibrate", "schema", "fmt", "lsp")
