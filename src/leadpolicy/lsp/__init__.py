"""The language server, `leadpolicy lsp`: what `check` and `fmt` say, where the policy is written (docs/lsp.md)."""
