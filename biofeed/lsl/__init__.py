"""Lab Streaming Layer: read any LSL stream as a device, publish a session's streams and events.

LSL is off unless the user turns it on. :func:`pylsl_module` loads pylsl with a configuration
that keeps discovery on this machine (scope ``machine``) unless the user asks for the local
network (scope ``link``), so nothing leaves the computer by accident.
"""
