import wsgi


def test_healthz_answers_ok(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.get_data(as_text=True) == "ok"
    assert r.mimetype == "text/plain"


def test_index_names_app_and_version(client):
    r = client.get("/")
    assert r.status_code == 200
    assert r.get_json() == {"app": "python", "version": "9.9.9"}


def test_unknown_path_is_json_404(client):
    r = client.get("/nope")
    assert r.status_code == 404
    assert r.get_json() == {"error": "not found"}


def test_wsgi_entry_point_uses_package_version():
    from app import __version__

    r = wsgi.application.test_client().get("/")
    assert r.get_json()["version"] == __version__
