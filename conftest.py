"""Project-wide pytest configuration.

The atomcheck plugin is loaded by its ``pytest11`` entry point; do not list it in
``pytest_plugins`` here (pluggy refuses a plugin registered twice).
"""
