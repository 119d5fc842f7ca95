"""Device specs on the command line, and `biofeed devices test`."""
from __future__ import annotations

import pytest

from biofeed.devices.scan import test_device as run_device_test
from biofeed.devices.simulated import SimulatedSensor
from biofeed.devices.spec import DeviceSpecError, open_device


def test_simulated_spec_takes_a_seed():
    dev = open_device("simulated:seed=7")
    assert isinstance(dev, SimulatedSensor) and dev.config.seed == 7
    assert isinstance(open_device("simulated"), SimulatedSensor)


@pytest.mark.parametrize("spec,message", [
    ("polar-h11:AA", "unknown kind 'polar-h11'; known: "),
    ("simulated:seed", "expected field=value pairs"),
    ("simulated:seed=x", "seed must be a whole number"),
    ("simulated:speed=3", r"unknown option\(s\) \['speed'\]; allowed: seed"),
    ("lsl:", "say which LSL stream"),
])
def test_bad_specs_say_what_was_expected(spec, message):
    with pytest.raises(DeviceSpecError, match=message):
        open_device(spec)


def test_device_test_reports_rates_and_gaps():
    table, notes = run_device_test(open_device("simulated"), 2.0)
    rows = table.set_index("stream")
    assert rows.loc["ecg", "samples"] == 500 and rows.loc["eda", "samples"] == 64
    assert rows.loc["ecg", "measured_hz"] == pytest.approx(250.0)
    assert (rows["gaps"] == 0).all() and (rows["finite_pct"] == 100.0).all()
    assert notes == []


def test_bluetooth_specs_make_the_adapters():
    from biofeed.devices.ble_hr import BleHeartRate
    from biofeed.devices.polar_pmd import PolarH10

    strap = open_device("ble-hr:AA:BB:CC:DD:EE:FF")
    assert isinstance(strap, BleHeartRate) and strap.address == "AA:BB:CC:DD:EE:FF"
    assert isinstance(open_device("polar-h10:11:22:33:44:55:66"), PolarH10)
    with pytest.raises(DeviceSpecError, match="give the Bluetooth address"):
        open_device("ble-hr:")


def test_serial_and_bitalino_specs_make_the_adapters():
    from biofeed.devices.bitalino import Bitalino
    from biofeed.devices.serial_line import SerialSensor

    gsr = open_device("serial:/dev/ttyUSB0:grove-gsr")
    assert isinstance(gsr, SerialSensor) and [s.kind for s in gsr.streams] == ["eda"]
    assert isinstance(open_device("bitalino:/dev/rfcomm0"), Bitalino)
    with pytest.raises(DeviceSpecError, match="expected serial:PORT:PROFILE"):
        open_device("serial:/dev/ttyUSB0")
