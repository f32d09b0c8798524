"""Reference skills the cold-start benchmark compares Cramp Coach with.

Each module exposes ``handler(event, context)`` the way an AWS Lambda entry point does, and
does at import time exactly what its pattern does at import time (nothing more, nothing less).
"""
