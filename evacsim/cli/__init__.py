"""The command line: parses, calls the library, presents.

:mod:`.main` (the ``evacsim`` command and its scenario commands) and :mod:`.experiments`
(the commands that run many replications). ``python -m evacsim.cli`` is the same command.
"""
