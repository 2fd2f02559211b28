"""Provider simulators: stateful stand-ins for identity providers, served as ASGI apps.

Tests plug them in through ``httpx.ASGITransport``; the demo, benchmarks and users run
them on a port (``unidir sandbox okta``).
"""
