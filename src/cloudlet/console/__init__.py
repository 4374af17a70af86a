"""The browser console `cloudlet start` serves on 127.0.0.1:CLOUDLET_CONSOLE_PORT.

listener.py opens the port (cheap, at start); app.py (the guard, sessions, the call path
and the page's files) is imported on the first request.
"""
