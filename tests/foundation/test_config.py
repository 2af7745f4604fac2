"""Configuration: flag > environment > [tool.eyeauth] in the nearest pyproject.toml > default;
unknown keys refused in one line."""
import pytest

from eyeauth import config
from eyeauth.cli.main import main
from eyeauth.errors import UsageError


@pytest.fixture
def project(tmp_path, monkeypatch):
    for var, _, _ in config.KEYS.values():
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.eyeauth]\nport = "/dev/ttyFROMFILE"\nmodels = "rel"\n')
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)  # the nearest pyproject.toml is two folders up
    return tmp_path


def test_precedence_flag_env_file_default(project):
    env = {"EYEAUTH_PORT": "/dev/ttyENV"}
    assert config.resolve("port", "/dev/ttyFLAG", environ=env) == config.Setting("/dev/ttyFLAG", "flag")
    assert config.resolve("port", environ=env) == config.Setting("/dev/ttyENV", "$EYEAUTH_PORT")
    got = config.resolve("port", environ={})
    assert got.value == "/dev/ttyFROMFILE" and got.source == str(project / "pyproject.toml")
    assert config.resolve("models", environ={}).value == str(project / "rel")  # from the file's folder
    assert config.resolve("board", environ={}) == config.Setting("esp-eye", "default")


def test_unknown_key_is_refused_in_one_line(project, capsys):
    (project / "pyproject.toml").write_text('[tool.eyeauth]\nprot = "/dev/ttyUSB0"\n')
    with pytest.raises(UsageError, match=r"unknown key\(s\) prot in \[tool.eyeauth\]; known: port"):
        config.resolve("port", environ={})
    assert main(["users"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "prot" in err
    (project / "pyproject.toml").write_text('[tool.eyeauth]\nport = 3\n')
    with pytest.raises(UsageError, match="port must be a string"):
        config.resolve("port", environ={})


def test_cli_takes_the_port_from_the_project_file_and_says_when_there_is_none(project, capsys):
    assert main(["users"]) == 3  # the file's port was tried: it does not exist
    assert "/dev/ttyFROMFILE" in capsys.readouterr().err
    (project / "pyproject.toml").write_text("[tool.eyeauth]\n")
    assert main(["users"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "EYEAUTH_PORT" in err and "--port" in err


def test_a_board_config_cannot_put_the_maintenance_button_on_a_bridge_pin(tmp_path):
    # issue 22, finding 3: DTR/RTS of the USB bridge drive EN and GPIO0; a maintenance button
    # there would be held by anyone with the cable
    import json

    import pytest

    from eyeauth import BOARD_CONFIGS_DIR
    from eyeauth.board.configs import bridge_pins, load_board
    from eyeauth.errors import UsageError

    eye = json.loads((BOARD_CONFIGS_DIR / "esp-eye.json").read_text())
    assert bridge_pins(eye) == {"EN", "GPIO0"} and eye["hal"]["button"]["pin"] not in (0,)
    bad = dict(eye, hal={**eye["hal"], "button": {"pin": 0, "active": 0}})  # BOOT
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(UsageError, match="USB serial line drives"):
        load_board("bad", tmp_path)
    assert load_board("esp-eye")["hal"]["button"]["pin"] == 15
