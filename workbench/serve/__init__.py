"""The scoring service: `workbench serve NAME@champion` answers HTTP requests on 127.0.0.1 with the version the
alias names at each request, verifying each artifact's hash before it is loaded. Core only (no Textual)."""
