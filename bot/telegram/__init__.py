"""The Telegram layer: PTB wiring (app.py) and one function per handler (handlers.py)."""
