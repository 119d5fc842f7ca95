"""Device profiles: the built-in ones load and ship in the wheel, user ones load by path, and
invalid ones fail with the file, the key path and what is allowed."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from biofeed.devices.profiles import (ProfileError, builtin_dir, builtin_profiles, load_profile)
from biofeed.devices.serial_line import SerialSensor

REPO = Path(__file__).resolve().parents[2]

USER_PROFILE = """
[device]
name = "my-gsr"
rate = 10

[transport]
type = "serial"
baud = 57600

[format]
type = "keyvalue"
columns = ["t", "gsr", "hr"]
counter = "t"

[[streams]]
name = "my/eda"
kind = "eda"
unit = "uS"
field = "gsr"
conversion = { type = "linear", scale = 0.05, offset = -1 }

[[streams]]
name = "my/hr"
kind = "hr"
unit = "bpm"
field = "hr"
"""


def test_builtin_profiles_load():
    assert builtin_profiles() == ["biofeed-arduino", "grove-gsr", "pulsesensor"]
    kinds = {name: [(s.name, s.kind, s.unit, s.rate) for s in load_profile(name).stream_infos()]
             for name in builtin_profiles()}
    assert kinds == {
        "biofeed-arduino": [("eda", "eda", "uS", 100.0), ("ppg", "ppg", "a.u.", 100.0)],
        "grove-gsr": [("eda", "eda", "uS", 20.0)],
        "pulsesensor": [("ppg", "ppg", "a.u.", 50.0), ("hr", "hr", "bpm", 0.0), ("rr", "rr", "ms", 0.0)],
    }
    fw = load_profile("biofeed-arduino")
    assert (fw.baud, fw.format.counter, fw.format.counter_modulo, fw.format.checksum) == \
        (115200, "n", 65536, "xor8")
    assert load_profile("grove-gsr").baud == 9600
    # the built-ins are the top-level devices/ folder of the source tree
    assert builtin_dir().resolve() == (REPO / "devices").resolve()


def test_grove_conversion_follows_the_spec():
    conv = load_profile("grove-gsr").streams[0].conversion
    adc = np.array([0, 100, 256, 511, 512, 700, -1])
    with np.errstate(divide="ignore"):
        r_ohm = (1024 + 2 * adc[:4]) * 10000 / (512 - adc[:4])
    out = conv.apply(adc)
    np.testing.assert_allclose(out[:4], 1e6 / r_ohm, rtol=1e-12)
    assert np.isnan(out[4:]).all()                           # ADC >= calibration: no contact


def test_user_profile_by_path(tmp_path):
    path = tmp_path / "my-gsr.toml"
    path.write_text(USER_PROFILE)
    profile = load_profile(path)
    assert profile.source == str(path) and profile.format.type == "keyvalue"
    np.testing.assert_allclose(profile.streams[0].conversion.apply([100, 200]), [4.0, 9.0])
    sensor = SerialSensor(str(path), "/dev/ttyUSB9", device_id="lab-2")
    assert [s.name for s in sensor.streams] == ["my/eda", "my/hr"]
    assert {s.device for s in sensor.streams} == {"lab-2"}
    assert sensor.describe()["profile_source"] == str(path)


@pytest.mark.parametrize("edit, expected", [
    (("[device]", "[devices]"), ["device: required key is missing"]),
    (('baud = 57600', 'baud = "fast"'), ["transport.baud: expected int, got 'fast'"]),
    (('baud = 57600', 'baud = 57600\nparity = "N"'),
     ["transport: unknown key(s) ['parity']; allowed: ['baud', 'type']"]),
    (('type = "keyvalue"', 'type = "json"'),
     ["format.type: 'json' is not allowed; allowed: ['csv', 'keyvalue', 'prefixed']"]),
    (('counter = "t"', 'counter = "time"'), ["format.counter: 'time' is not allowed; allowed: ['t', 'gsr', 'hr']"]),
    (('kind = "eda"', 'kind = "gsr"'), ["streams[0].kind: 'gsr' is not allowed", "'eda'"]),
    (('unit = "uS"', 'unit = "kOhm"'), ["streams[0].unit: a 'eda' stream must be in 'uS', got 'kOhm'"]),
    (('field = "hr"', 'field = "bpm"'), ["streams[1].field: 'bpm' is not allowed; allowed: ['gsr', 'hr']"]),
    (('field = "hr"', 'field = "hr"\nregular = false'), ["streams[1].regular: field 'hr' is on every sample"]),
    (('type = "linear"', 'type = "log"'),
     ["streams[0].conversion.type: 'log' is not allowed; allowed: ['none', 'linear', 'grove_gsr']"]),
    (('scale = 0.05, offset = -1', 'offset = -1'), ["streams[0].conversion.scale: required key is missing"]),
    (('rate = 10', 'rate = 0'), ["device.rate: must be > 0, got 0"]),
    (('rate = 10', 'rate = [10'), ["not valid TOML"]),
])
def test_invalid_profiles_say_where_and_what_is_allowed(tmp_path, edit, expected):
    path = tmp_path / "broken.toml"
    assert edit[0] in USER_PROFILE
    path.write_text(USER_PROFILE.replace(edit[0], edit[1], 1))
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    message = str(err.value)
    assert message.startswith(str(path)), message
    for part in expected:
        assert part in message, message


def test_missing_profiles(tmp_path):
    with pytest.raises(ProfileError, match=r"no built-in device profile 'grove'; built-in: \['biofeed"):
        load_profile("grove")
    with pytest.raises(ProfileError, match="nowhere.toml: cannot read the profile"):
        load_profile(tmp_path / "nowhere.toml")


@pytest.mark.slow
def test_wheel_ships_the_builtin_profiles_and_firmware(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(REPO, src, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis", "tests",
        "benchmarks", "sessions", "*.biofeed*"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
                    str(src)], check=True, capture_output=True)
    wheel, = (tmp_path / "dist").glob("biofeed-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for name in builtin_profiles():
            assert zf.read(f"biofeed/devices/builtin/{name}.toml") == (REPO / "devices" / f"{name}.toml").read_bytes()
    assert {"biofeed/devices/builtin/firmware/biofeed_gsr_pulse/biofeed_gsr_pulse.ino",
            "biofeed/devices/builtin/firmware/biofeed_gsr_pulse/README.md"} <= names
