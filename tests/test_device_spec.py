"""Device specs on the command line, and `biofeed devices test`."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from biofeed.devices.labels import LABEL, LabelledDevice
from biofeed.devices.scan import test_device as run_device_test
from biofeed.devices.simulated import SimulatedSensor
from biofeed.devices.spec import KINDS, DeviceSpecError, open_device, open_devices, parse_spec


def test_simulated_spec_takes_a_seed():
    dev = open_device("simulated:seed=7")
    assert isinstance(dev, SimulatedSensor) and dev.config.seed == 7
    assert isinstance(open_device("simulated"), SimulatedSensor)


@pytest.mark.parametrize("spec,message", [
    ("polar-h11:AA", "unknown kind 'polar-h11'; known: "),
    ("simulated:seed", "expected field=value pairs"),
    ("simulated:seed=x", "seed must be a whole number >= 0, got 'x'"),
    ("simulated:seed=-4", "seed must be a whole number >= 0, got '-4'"),
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
    with pytest.raises(DeviceSpecError, match="expected ble-hr:ADDRESS with the Bluetooth address"):
        open_device("ble-hr:")


def test_serial_and_bitalino_specs_make_the_adapters():
    from biofeed.devices.bitalino import Bitalino
    from biofeed.devices.serial_line import SerialSensor

    gsr = open_device("serial:/dev/ttyUSB0:grove-gsr")
    assert isinstance(gsr, SerialSensor) and [s.kind for s in gsr.streams] == ["eda"]
    assert isinstance(open_device("bitalino:/dev/rfcomm0"), Bitalino)
    with pytest.raises(DeviceSpecError, match="expected serial:PORT:PROFILE"):
        open_device("serial:/dev/ttyUSB0")


# -- labels: [LABEL@]KIND[:ARGS] --------------------------------------------------------------

def test_a_label_prefixes_the_stream_names_and_the_device_id():
    dev = open_device("child@simulated:seed=2")
    assert isinstance(dev, LabelledDevice) and dev.label == "child"
    assert [s.name for s in dev.streams] == ["child.ecg", "child.eda", "child.resp", "child.acc"]
    assert dev.id == "child@simulated" and {s.device for s in dev.streams} == {"child@simulated"}
    assert dev.config.seed == 2                                  # read from the wrapped sensor
    described = dev.describe()
    assert described["id"] == "child@simulated" and described["label"] == "child"
    assert described["streams"] == ["child.ecg", "child.eda", "child.resp", "child.acc"]
    assert described["type"] == "SimulatedSensor" and described["config"]["seed"] == 2


@pytest.mark.parametrize("spec,names,attr,value", [
    ("a@serial:/dev/ttyUSB0:grove-gsr", ["a.eda"], "port", "/dev/ttyUSB0"),
    ("b_2@serial:/dev/serial/by-path/pci-0000:00:14.0-usb-0:1:1.0:pulsesensor",
     ["b_2.ppg", "b_2.hr", "b_2.rr"], "port", "/dev/serial/by-path/pci-0000:00:14.0-usb-0:1:1.0"),
    ("therapist@ble-hr:AA:BB:CC:DD:EE:FF", ["therapist.hrstrap.hr", "therapist.hrstrap.rr"],
     "address", "AA:BB:CC:DD:EE:FF"),
    ("client@polar-h10:12345678-ABCD-ABCD-ABCD-1234567890AB",
     ["client.polar-h10.hr", "client.polar-h10.rr", "client.polar-h10.ecg", "client.polar-h10.acc"],
     "address", "12345678-ABCD-ABCD-ABCD-1234567890AB"),
    ("Left-hand@bitalino:/dev/rfcomm0", ["Left-hand.ecg", "Left-hand.eda"], "port", "/dev/rfcomm0"),
])
def test_every_kind_takes_a_label(spec, names, attr, value):
    dev = open_device(spec)
    assert [s.name for s in dev.streams] == names
    assert getattr(dev, attr) == value and dev.reconnects == 0 and dev.connected is False


def test_an_at_sign_in_lsl_args_stays_in_the_args():
    parsed = parse_spec("x@lsl:name=EEG@lab,type=ECG")
    assert parsed.label == "x" and parsed.kind == "lsl"
    assert parsed.options == {"query": {"name": "EEG@lab", "type": "ECG"}}
    assert parse_spec("lsl:source_id=muse@00:55").label is None


@pytest.mark.parametrize("spec,message", [
    ("Bad Label@simulated", r"device 'Bad Label@simulated': label 'Bad Label' before '@': expected "
                            r"1-32 letters, digits, '-' or '_' \(a role such as parent/child or a/b, "
                            r"not a participant's name\)"),
    ("@simulated", "label '' before '@'"),
    ("a.b@simulated", "label 'a.b' before '@'"),
    ("a@b@simulated", "label 'a@b' before '@'"),
    ("Zoë@simulated", "label 'Zoë' before '@'"),
    ("x" * 33 + "@simulated", "label 'x{33}' before '@'"),
    ("simulated@child", "unknown kind 'child'.*a label goes before the kind: child@simulated$"),
    ("simulated:seed=1@child", "got '1@child'; a label goes before the kind: "
                               "child@simulated:seed=1$"),
    ("serial:/dev/ttyUSB0:grove-gsr@a", "a built-in profile name has no '@'.*a label goes before "
                                        "the kind: a@serial:/dev/ttyUSB0:grove-gsr$"),
    ("ble-hr:AA:BB:CC:DD:EE:FF@a", "a label goes before the kind: a@ble-hr:AA:BB:CC:DD:EE:FF$"),
    ("polar-h10:AA:BB", r"expected polar-h10:ADDRESS .* got 'AA:BB'"),
])
def test_bad_labels_and_misplaced_labels_say_what_was_expected(spec, message):
    with pytest.raises(DeviceSpecError, match=message):
        parse_spec(spec)
    with pytest.raises(DeviceSpecError, match=message):
        open_device(spec)


LABELS = st.from_regex(r"[A-Za-z0-9_-]{1,32}", fullmatch=True)
#: Specs that parse, one per kind (opening the LSL one would look for a stream).
GOOD = ["simulated", "simulated:seed=4", "lsl:name=OpenSignals", "ble-hr:AA:BB:CC:DD:EE:FF",
        "polar-h10:aa:bb:cc:dd:ee:ff", "serial:COM3:grove-gsr", "bitalino:/dev/rfcomm0"]


@settings(max_examples=400, deadline=None)
@given(st.one_of(
    st.text(),
    st.text(alphabet="@:=,/.-_ aA1sSimulatedlsrbe\x00é", max_size=40),
    st.builds(lambda label, kind, args: f"{label}@{kind}:{args}",
              st.text(max_size=8), st.sampled_from(sorted(KINDS)), st.text(max_size=30))))
def test_any_string_is_a_spec_or_a_device_spec_error(text):
    try:
        parsed = parse_spec(text)
    except DeviceSpecError as exc:
        assert repr(text) in str(exc)                            # the message names the spec
        return
    assert parsed.text == text and parsed.kind in KINDS
    assert parsed.label is None or LABEL.fullmatch(parsed.label)


@settings(max_examples=200, deadline=None)
@given(LABELS, st.sampled_from(GOOD))
def test_any_label_on_any_good_spec_keeps_its_args(label, spec):
    plain, labelled = parse_spec(spec), parse_spec(f"{label}@{spec}")
    assert labelled.label == label and plain.label is None
    assert (labelled.kind, labelled.options) == (plain.kind, plain.options)
    if plain.kind != "lsl":
        dev = open_device(f"{label}@{spec}")
        bare = open_device(spec)
        assert [s.name for s in dev.streams] == [f"{label}.{s.name}" for s in bare.streams]
        assert dev.id == f"{label}@{bare.id}"


# -- open_devices: one session's devices, clashes labelled -----------------------------------

def _names(devices):
    return [[s.name for s in d.streams] for d in devices]


def test_clashing_devices_are_labelled_by_kind_and_position_in_one_line():
    said = []
    devices = open_devices(["simulated:seed=1", "simulated:seed=2"], notify=said.append)
    assert _names(devices) == [["simulated-1.ecg", "simulated-1.eda", "simulated-1.resp", "simulated-1.acc"],
                               ["simulated-2.ecg", "simulated-2.eda", "simulated-2.resp", "simulated-2.acc"]]
    assert [d.id for d in devices] == ["simulated-1@simulated", "simulated-2@simulated"]
    assert [d.config.seed for d in devices] == [1, 2]
    assert len(said) == 1 and "\n" not in said[0]
    assert said[0] == ("labelled devices whose stream names clash (acc, ecg, eda, resp): simulated:seed=1 "
                       "as simulated-1, simulated:seed=2 as simulated-2, so streams are named "
                       "simulated-1.ecg, ...; to choose labels, write LABEL@SPEC, e.g. parent@simulated")


@pytest.mark.parametrize("specs,names", [
    (["a@simulated", "b@simulated"], [["a.ecg", "a.eda", "a.resp", "a.acc"], ["b.ecg", "b.eda", "b.resp", "b.acc"]]),
    (["simulated", "ble-hr:AA:BB:CC:DD:EE:FF"], [["ecg", "eda", "resp", "acc"], ["hrstrap.hr", "hrstrap.rr"]]),
    (["parent@polar-h10:AA:BB:CC:DD:EE:01", "parent@serial:/dev/ttyUSB0:grove-gsr"],
     [["parent.polar-h10.hr", "parent.polar-h10.rr", "parent.polar-h10.ecg", "parent.polar-h10.acc"],
      ["parent.eda"]]),
    (["a@simulated", "simulated", "simulated"],
     [["a.ecg", "a.eda", "a.resp", "a.acc"], ["simulated-2.ecg", "simulated-2.eda", "simulated-2.resp", "simulated-2.acc"],
      ["simulated-3.ecg", "simulated-3.eda", "simulated-3.resp", "simulated-3.acc"]]),
])
def test_labelled_or_distinct_devices_keep_their_names_silently(specs, names):
    said = []
    devices = open_devices(specs, notify=said.append)
    assert _names(devices) == names
    assert bool(said) == any(n.startswith("simulated-") for row in names for n in row)


def test_different_kinds_with_the_same_stream_names_are_labelled_too():
    devices = open_devices(["bitalino:/dev/rfcomm0", "serial:/dev/ttyUSB0:grove-gsr", "simulated"])
    assert _names(devices) == [["bitalino-1.ecg", "bitalino-1.eda"], ["serial-1.eda"],
                               ["simulated-1.ecg", "simulated-1.eda", "simulated-1.resp", "simulated-1.acc"]]


def test_two_devices_with_the_same_label_and_streams_are_an_error():
    with pytest.raises(DeviceSpecError, match=r"devices \['a@simulated', 'a@simulated:seed=2'\] would "
                                              r"all have a stream named 'a.acc'; give them different "
                                              r"labels"):
        open_devices(["a@simulated", "a@simulated:seed=2"])
    with pytest.raises(DeviceSpecError, match="label 'a b'"):
        open_devices(["simulated", "a b@simulated"])
