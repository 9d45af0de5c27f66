import pytest

from app import create_app


@pytest.fixture
def client():
    app = create_app(version="9.9.9")
    app.config.update(TESTING=True)
    return app.test_client()
