"""gunicorn's own settings from the environment: an empty value keeps the default (``KEY=``
in .env), a bad one stops the start with the variable named."""

from __future__ import annotations

import importlib.util

import pytest

import web.gunicorn_conf
from clinic.settings import ConfigError, Settings
from web.cli.processes import child_env


def _load(monkeypatch, **env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # By path, as gunicorn loads it, as a module of its own: web.gunicorn_conf stays as it is.
    spec = importlib.util.spec_from_file_location("gunicorn_conf_probe", web.gunicorn_conf.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_empty_web_settings_keep_their_defaults(monkeypatch):
    conf = _load(monkeypatch, WEB_CONCURRENCY="", CLINIC_WEB_CONNECTIONS=" ")
    assert (conf.workers, conf.worker_connections) == (1, 2000)
    conf = _load(monkeypatch, WEB_CONCURRENCY="3", CLINIC_WEB_CONNECTIONS="500")
    assert (conf.workers, conf.worker_connections) == (3, 500)


@pytest.mark.parametrize(
    "name, value",
    [("WEB_CONCURRENCY", "two"), ("CLINIC_WEB_CONNECTIONS", "5.0")],
)
def test_a_bad_web_setting_stops_gunicorn_naming_it(monkeypatch, name, value):
    with pytest.raises(SystemExit, match=name):
        _load(monkeypatch, **{name: value})


def test_clinic_web_hands_gunicorn_the_checked_values(tmp_path):
    """gunicorn itself reads WEB_CONCURRENCY on import and dies on an empty one."""
    env = {"CLINIC_INSTANCE": str(tmp_path), "WEB_CONCURRENCY": "", "CLINIC_WEB_CONNECTIONS": ""}
    child = child_env(Settings.from_env(env), base=env)
    assert (child["WEB_CONCURRENCY"], child["CLINIC_WEB_CONNECTIONS"]) == ("1", "2000")
    env.update(WEB_CONCURRENCY="3", CLINIC_WEB_CONNECTIONS="500")
    child = child_env(Settings.from_env(env), base=env)
    assert (child["WEB_CONCURRENCY"], child["CLINIC_WEB_CONNECTIONS"]) == ("3", "500")
    # No connection at all is no server: the start stops, naming the setting.
    with pytest.raises(ConfigError, match="CLINIC_WEB_CONNECTIONS must be at least 1"):
        Settings.from_env({**env, "CLINIC_WEB_CONNECTIONS": "0"})


@pytest.mark.parametrize("name", ["WEB_CONCURRENCY", "CLINIC_WEB_CONNECTIONS"])
def test_clinic_web_refuses_a_bad_web_setting_naming_it(tmp_path, name):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({"CLINIC_INSTANCE": str(tmp_path), name: "two"})
