"""A faithful, stateful Okta org for development, tests and demos.

    from unidir.sandbox.okta import SandboxConfig, create_app
    app = create_app(SandboxConfig(api_tokens=("t0ken",), seed_users=50))

``app.state.sandbox`` is the live ``Sandbox`` (org state, config, request log).
"""

from unidir.sandbox.okta.app import create_app
from unidir.sandbox.okta.config import SandboxConfig

__all__ = ["SandboxConfig", "create_app"]
