# amaranth: UnusedElaboratable=no

import pytest
from amaranth.hdl import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator
from amaranth.utils import ceil_log2

from boards.host import HostLinkClient, decode_response, encode_request, value_bytes
from boards.host_link import HostLink
from boards.platforms import BOARDS, BoardTop, get_board


class DummyCore(wiring.Component):
    """Core with the accelerator interface: readout register ``k`` is ``sum(inputs) + k``.

    ``done`` rises ``latency`` cycles after ``start``. Records protocol violations: writes while
    busy (``bad_write``) and the number of ``start`` pulses (``starts``).
    """
    def __init__(self, n_inputs, input_bits, input_signed, readout_depth, latency=1):
        self.n_inputs = n_inputs
        self.input_bits = input_bits
        self.input_signed = input_signed
        self.readout_depth = readout_depth
        self.latency = latency
        shape = signed(input_bits) if input_signed else unsigned(input_bits)
        super().__init__({
            "in_addr":  In(max(1, ceil_log2(n_inputs))),
            "in_data":  In(shape),
            "in_we":    In(1),
            "start":    In(1),
            "busy":     Out(1),
            "done":     Out(1),
            "rd_addr":  In(max(1, ceil_log2(readout_depth))),
            "rd_data":  Out(signed(32)),
        })
        self.inputs = Array(Signal(shape, name=f"input_{i}") for i in range(n_inputs))
        self.bad_write = Signal()
        self.starts = Signal(8)

    def elaborate(self, platform):
        m = Module()

        total = Signal(signed(32))
        result = Signal(signed(32))
        count = Signal(range(self.latency + 1))
        m.d.comb += total.eq(sum(self.inputs))

        with m.If(self.in_we):
            m.d.sync += self.inputs[self.in_addr].eq(self.in_data)
            with m.If(self.busy | self.start):
                m.d.sync += self.bad_write.eq(1)

        with m.If(self.start):
            m.d.sync += [
                self.starts.eq(self.starts + 1),
                self.busy.eq(1),
                self.done.eq(0),
                count.eq(self.latency - 1),
            ]
        with m.Elif(self.busy):
            with m.If(count == 0):
                m.d.sync += [
                    self.busy.eq(0),
                    self.done.eq(1),
                    result.eq(total),
                ]
            with m.Else():
                m.d.sync += count.eq(count - 1)

        m.d.sync += self.rd_data.eq(result + self.rd_addr)
        return m


def serial_bits(data):
    for byte in data:
        yield 0
        yield from ((byte >> i) & 1 for i in range(8))
        yield 1


def simulate(link, data, n_response, *, idle_cycles=0, max_cycles=200_000, check=None):
    """Send ``data`` into ``link.rx`` and return ``n_response`` bytes decoded from ``link.tx``.

    ``data`` may be a list of byte strings; ``idle_cycles`` (an int, or one int per gap) are
    inserted between them.
    """
    divisor = link.divisor
    chunks = [data] if isinstance(data, bytes) else data
    if isinstance(idle_cycles, int):
        idle_cycles = [idle_cycles] * (len(chunks) - 1)
    received = []
    start = []
    framing = []

    async def monitor(ctx):
        bits = None
        async for _, _, tx in ctx.tick().sample(link.tx):
            if bits is None:
                if tx == 0:  # falling edge of a start bit
                    bits, count = [], 0
                continue
            count += 1
            if count % divisor == divisor // 2:  # middle of a bit
                bits.append(tx)
                if len(bits) == 10:
                    start.append(bits[0])
                    framing.append(bits[9])
                    received.append(sum(bit << i for i, bit in enumerate(bits[1:9])))
                    bits = None

    async def testbench(ctx):
        ctx.set(link.rx, 1)
        await ctx.tick().repeat(4)
        for index, chunk in enumerate(chunks):
            if index and idle_cycles[index - 1]:
                await ctx.tick().repeat(idle_cycles[index - 1])
            for level in serial_bits(chunk):
                ctx.set(link.rx, level)
                await ctx.tick().repeat(divisor)
        cycles = 0
        while len(received) < n_response:
            await ctx.tick().repeat(divisor)
            cycles += divisor
            assert cycles < max_cycles, f"timeout with {len(received)} of {n_response} bytes"
        # Nothing more is sent.
        await ctx.tick().repeat(30 * divisor)
        if check is not None:
            check(ctx)

    sim = Simulator(link)
    sim.add_clock(1e-6)
    sim.add_testbench(monitor, background=True)
    sim.add_testbench(testbench)
    sim.run()
    assert start == [0] * len(received)
    assert framing == [1] * len(received)
    return bytes(received)


def expected_words(values, depth):
    return [sum(values) + k for k in range(depth)]


def test_encode_decode():
    assert value_bytes(1) == 1
    assert value_bytes(8) == 1
    assert value_bytes(9) == 2
    assert value_bytes(16) == 2
    assert encode_request([0, 255, 7], 8, False) == b"W\x00\xff\x07"
    assert encode_request([0x1234, 1], 16, False) == b"W\x34\x12\x01\x00"
    assert encode_request([-1, -2048, 2047], 12, True) == b"W\xff\xff\x00\xf8\xff\x07"
    assert encode_request([-128, 127], 8, True) == b"W\x80\x7f"
    with pytest.raises(ValueError, match="does not fit"):
        encode_request([256], 8, False)
    with pytest.raises(ValueError, match="does not fit"):
        encode_request([-1], 8, False)
    with pytest.raises(ValueError, match="does not fit"):
        encode_request([2048], 12, True)
    assert decode_response(b"\x01\x00\x00\x00\xff\xff\xff\xff\x00\x00\x00\x80", 3) == \
        [1, -1, -(1 << 31)]
    with pytest.raises(ValueError, match="Expected 8 response bytes"):
        decode_response(b"\x00" * 7, 2)


def test_unsigned_8bit():
    core = DummyCore(n_inputs=5, input_bits=8, input_signed=False, readout_depth=4)
    link = HostLink(core, clk_freq=1e6, baud=250_000)  # 4 cycles per bit
    assert link.divisor == 4
    values = [3, 255, 0, 128, 77]

    def check(ctx):
        assert ctx.get(core.bad_write) == 0
        assert ctx.get(core.starts) == 1
        assert [ctx.get(core.inputs[i]) for i in range(5)] == values

    response = simulate(link, b"W" + bytes(values), 16, check=check)
    assert response == b"".join((sum(values) + k).to_bytes(4, "little") for k in range(4))
    assert decode_response(response, 4) == [463, 464, 465, 466]


def test_signed_12bit_slow_core():
    core = DummyCore(n_inputs=3, input_bits=12, input_signed=True, readout_depth=3, latency=37)
    link = HostLink(core, clk_freq=1.6e6, baud=100_000)  # 16 cycles per bit
    assert link.divisor == 16
    values = [-2048, 5, -1]
    response = simulate(link, encode_request(values, 12, True), 12)
    assert decode_response(response, 3) == [-2044, -2043, -2042]


def test_garbage_and_two_requests():
    core = DummyCore(n_inputs=2, input_bits=16, input_signed=False, readout_depth=2)
    link = HostLink(core, clk_freq=1e6, baud=200_000)
    first, second = [0xFFFF, 0x1234], [1, 2]
    data = [b"\x00\xff\x41", encode_request(first, 16, False), encode_request(second, 16, False)]

    def check(ctx):
        assert ctx.get(core.starts) == 2
        assert ctx.get(core.bad_write) == 0

    response = simulate(link, data, 16, idle_cycles=600, check=check)
    assert decode_response(response, 4) == \
        expected_words(first, 2) + expected_words(second, 2)


def test_back_to_back_requests():
    # The second request arrives while the first response is being transmitted: its bytes are
    # dropped. The third request, sent after the response, is answered.
    core = DummyCore(n_inputs=1, input_bits=8, input_signed=False, readout_depth=1)
    link = HostLink(core, clk_freq=1e6, baud=250_000)
    response = simulate(link, [b"W\x05", b"W\x06", b"W\x07"], 8, idle_cycles=[0, 200])
    assert decode_response(response, 2) == [5, 7]


def test_timeout_abandons_partial_request():
    core = DummyCore(n_inputs=4, input_bits=8, input_signed=False, readout_depth=2)
    link = HostLink(core, clk_freq=1e6, baud=250_000, timeout=300e-6)  # 300 cycles
    values = [10, 20, 30, 40]
    # Without the timeout, "W" would be taken as the third input of the abandoned request.
    response = simulate(link, [b"W\x01\x02", encode_request(values, 8, False)], 8,
                        idle_cycles=500)
    assert decode_response(response, 2) == expected_words(values, 2)
    # A shorter pause does not abandon the request.
    response = simulate(link, [b"W\x01\x02", b"\x03", b"\x04"], 8, idle_cycles=[250, 10])
    assert decode_response(response, 2) == expected_words([1, 2, 3, 4], 2)


def test_no_timeout():
    core = DummyCore(n_inputs=4, input_bits=8, input_signed=False, readout_depth=1)
    link = HostLink(core, clk_freq=1e6, baud=250_000, timeout=None)
    # The pause does not abandon the request.
    response = simulate(link, [b"W\x01\x02", b"\x03\x04"], 4, idle_cycles=2000)
    assert decode_response(response, 1) == [10]


def test_client_against_simulation():
    core = DummyCore(n_inputs=3, input_bits=8, input_signed=True, readout_depth=2)
    link = HostLink(core, clk_freq=1e6, baud=250_000)

    class SimulatedPort:
        def __init__(self):
            self.pending = b""

        def write(self, data):
            self.pending += simulate(link, data, 8)

        def read(self, size):
            data, self.pending = self.pending[:size], self.pending[size:]
            return data

    with HostLinkClient.for_core(core, SimulatedPort()) as client:
        assert client.infer([-100, 27, -128]) == [-201, -200]
        with pytest.raises(ValueError, match="Expected 3 inputs"):
            client.infer([1, 2])

    class SilentPort:
        def write(self, data):
            pass

        def read(self, size):
            return b"\x00\x00"

    client = HostLinkClient.for_core(core, SilentPort())
    with pytest.raises(TimeoutError, match="answered 2 of 8 bytes"):
        client.infer([1, 2, 3])


def test_link_validation():
    core = DummyCore(n_inputs=2, input_bits=8, input_signed=False, readout_depth=1)
    with pytest.raises(ValueError, match="at least 4"):
        HostLink(core, clk_freq=1e6, baud=500_000)
    with pytest.raises(ValueError, match="shorter than one UART frame"):
        HostLink(core, clk_freq=1e6, baud=250_000, timeout=20e-6)

    class NotACore:
        n_inputs = 1

    with pytest.raises(TypeError, match="no attribute 'input_bits'"):
        HostLink(NotACore(), clk_freq=1e6)


def test_board_registry():
    assert BOARDS["icebreaker"].clk_freq == 12e6
    assert BOARDS["icebreaker"].family == "ice40"
    assert BOARDS["ulx3s"].clk_freq == 25e6
    assert BOARDS["ulx3s"].device == "LFE5U-85F"
    assert BOARDS["ulx3s"].platform_class.__name__ == "ULX3S_85F_Platform"
    assert get_board("icebreaker").platform_class.__name__ == "ICEBreakerPlatform"
    assert get_board("icebreaker").program_command("a.bin") == "iceprog -S a.bin"
    with pytest.raises(ValueError, match="Unknown board 'nope'"):
        get_board("nope")


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_board_top_prepares(name):
    # Elaborate and emit the board top without running the toolchain.
    board = get_board(name)
    core = DummyCore(n_inputs=4, input_bits=8, input_signed=False, readout_depth=2)
    top = BoardTop(core, board)
    assert top.link.divisor == round(board.clk_freq / 115200)
    plan = board.platform().build(top, name="top", do_build=False)
    assert "top.il" in plan.files


def test_readme_example():
    core = DummyCore(n_inputs=3, input_bits=8, input_signed=False, readout_depth=2)
    link = HostLink(core, clk_freq=1e6, baud=250_000)
    assert simulate(link, bytes.fromhex("57 03 ff 00"), 8) == bytes.fromhex("0201000003010000")
