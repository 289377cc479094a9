"""The catalog: every claim of CLAIMS.md as a pytest test (run with ``pytest claims/``)."""
