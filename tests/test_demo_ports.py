"""``make run`` serves each platform's demo sandbox on a port of its own that other plugins do not move."""
from __future__ import annotations

from core.demo_stores import demo_ports


class _First:
    demo_port_offset = 0


class _Third:
    demo_port_offset = 2


class _Unplaced:
    pass


def test_a_driver_keeps_its_offset_and_others_take_the_free_ports_after():
    assert demo_ports(5101, [_Third, _First]) == [5103, 5101]
    assert demo_ports(5101, [_Unplaced, _First, _Third, _Unplaced]) == [5102, 5101, 5103, 5104]
