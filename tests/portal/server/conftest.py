"""The state tests' runtime fixture, for the metrics tests that drive the applicant's session."""

from tests.portal.state.conftest import portal_runtime

__all__ = ["portal_runtime"]
