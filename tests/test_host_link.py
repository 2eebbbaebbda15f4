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
    """Core with the streaming accelerator interface: readout register ``k`` is ``sum(inputs) + k``.

    It sums the inputs of an image as they stream in and raises ``done`` ``latency`` cycles after
    the last one, until ``ack``. One image at a time: ``in_ready`` is low from the last input until
    the ``ack``, and for ``ready_gap`` cycles after every accepted input. Records the inputs of the
    last image (``inputs``), the number of images started (``images``) and acknowledged (``acks``),
    and protocol violations: ``ack`` while ``done`` is low (``bad_ack``, so a longer ``ack`` than
    one cycle is caught too).
    """
    def __init__(self, n_inputs, input_bits, input_signed, readout_depth, latency=1, ready_gap=0):
        self.n_inputs = n_inputs
        self.input_bits = input_bits
        self.input_signed = input_signed
        self.readout_depth = readout_depth
        self.latency = latency
        self.ready_gap = ready_gap
        shape = signed(input_bits) if input_signed else unsigned(input_bits)
        super().__init__({
            "in_valid": In(1),
            "in_ready": Out(1),
            "in_data":  In(shape),
            "done":     Out(1),
            "ack":      In(1),
            "busy":     Out(1),
            "rd_addr":  In(max(1, ceil_log2(readout_depth))),
            "rd_data":  Out(signed(32)),
        })
        self.inputs = Array(Signal(shape, name=f"input_{i}") for i in range(n_inputs))
        self.images = Signal(8)
        self.acks = Signal(8)
        self.bad_ack = Signal()

    def elaborate(self, platform):
        m = Module()

        count = Signal(range(self.n_inputs + 1))   # inputs of the current image received
        acc = Signal(signed(32))
        result = Signal(signed(32))
        computing = Signal()
        timer = Signal(range(self.latency + 1))
        gap = Signal(range(self.ready_gap + 1))

        m.d.comb += [
            self.in_ready.eq((count != self.n_inputs) & (gap == 0)),
            self.busy.eq((count != 0) | self.done),
        ]
        with m.If(gap != 0):
            m.d.sync += gap.eq(gap - 1)

        with m.If(self.in_valid & self.in_ready):
            m.d.sync += [
                self.inputs[count].eq(self.in_data),
                acc.eq(acc + self.in_data),
                count.eq(count + 1),
                gap.eq(self.ready_gap),
            ]
            with m.If(count == 0):
                m.d.sync += self.images.eq(self.images + 1)
            with m.If(count == self.n_inputs - 1):
                m.d.sync += [
                    result.eq(acc + self.in_data),
                    computing.eq(1),
                    timer.eq(self.latency - 1),
                ]

        with m.If(computing):
            with m.If(timer == 0):
                m.d.sync += [
                    computing.eq(0),
                    self.done.eq(1),
                ]
            with m.Else():
                m.d.sync += timer.eq(timer - 1)

        with m.If(self.ack):
            m.d.sync += [
                self.done.eq(0),
                self.acks.eq(self.acks + 1),
                count.eq(0),
                acc.eq(0),
            ]
            with m.If(~self.done):
                m.d.sync += self.bad_ack.eq(1)

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
        assert ctx.get(core.bad_ack) == 0
        assert ctx.get(core.images) == 1
        assert ctx.get(core.acks) == 1
        assert ctx.get(core.busy) == 0
        assert [ctx.get(core.inputs[i]) for i in range(5)] == values

    response = simulate(link, b"W" + bytes(values), 16, check=check)
    assert response == b"".join((sum(values) + k).to_bytes(4, "little") for k in range(4))
    assert decode_response(response, 4) == [463, 464, 465, 466]


def test_signed_12bit_slow_core():
    core = DummyCore(n_inputs=3, input_bits=12, input_signed=True, readout_depth=3, latency=37,
                     ready_gap=5)
    link = HostLink(core, clk_freq=1.6e6, baud=100_000)  # 16 cycles per bit
    assert link.divisor == 16
    values = [-2048, 5, -1]

    def check(ctx):
        assert ctx.get(core.bad_ack) == 0
        assert ctx.get(core.acks) == 1
        assert [ctx.get(core.inputs[i]) for i in range(3)] == values

    response = simulate(link, encode_request(values, 12, True), 12, check=check)
    assert decode_response(response, 3) == [-2044, -2043, -2042]


def test_core_slower_than_uart():
    # The core takes an input 45 cycles after the previous one, a byte arrives every 40: the link
    # holds the next byte back (the UART receiver keeps it) until the holding register is free.
    core = DummyCore(n_inputs=5, input_bits=8, input_signed=False, readout_depth=2, ready_gap=45)
    link = HostLink(core, clk_freq=1e6, baud=250_000)
    values = [1, 2, 3, 4, 200]

    def check(ctx):
        assert ctx.get(core.bad_ack) == 0
        assert ctx.get(core.images) == 1
        assert [ctx.get(core.inputs[i]) for i in range(5)] == values

    response = simulate(link, encode_request(values, 8, False), 8, check=check)
    assert decode_response(response, 2) == expected_words(values, 2)


def test_garbage_and_two_requests():
    core = DummyCore(n_inputs=2, input_bits=16, input_signed=False, readout_depth=2)
    link = HostLink(core, clk_freq=1e6, baud=200_000)
    first, second = [0xFFFF, 0x1234], [1, 2]
    data = [b"\x00\xff\x41", encode_request(first, 16, False), encode_request(second, 16, False)]

    def check(ctx):
        assert ctx.get(core.images) == 2
        assert ctx.get(core.acks) == 2
        assert ctx.get(core.bad_ack) == 0

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

    def check(ctx):
        # The abandoned image was completed with zeros and its result acknowledged unsent.
        assert ctx.get(core.images) == 2
        assert ctx.get(core.acks) == 2
        assert ctx.get(core.bad_ack) == 0
        assert ctx.get(core.busy) == 0
        assert [ctx.get(core.inputs[i]) for i in range(4)] == values

    # Without the timeout, "W" would be taken as the third input of the abandoned request.
    response = simulate(link, [b"W\x01\x02", encode_request(values, 8, False)], 8,
                        idle_cycles=500, check=check)
    assert decode_response(response, 2) == expected_words(values, 2)
    # A request abandoned before its first value reaches the core leaves nothing to drop.
    response = simulate(link, [b"W", encode_request(values, 8, False)], 8, idle_cycles=500)
    assert decode_response(response, 2) == expected_words(values, 2)
    # A shorter pause does not abandon the request.
    response = simulate(link, [b"W\x01\x02", b"\x03", b"\x04"], 8, idle_cycles=[250, 10])
    assert decode_response(response, 2) == expected_words([1, 2, 3, 4], 2)


def test_timeout_in_the_middle_of_a_value():
    # 16-bit values: the request is abandoned after one value and one byte of the next one.
    core = DummyCore(n_inputs=3, input_bits=16, input_signed=True, readout_depth=1, latency=20)
    link = HostLink(core, clk_freq=1e6, baud=250_000, timeout=300e-6)
    values = [-300, 1000, 7]

    def check(ctx):
        assert ctx.get(core.images) == 2
        assert ctx.get(core.acks) == 2
        assert ctx.get(core.bad_ack) == 0
        assert [ctx.get(core.inputs[i]) for i in range(3)] == values

    response = simulate(link, [b"W\x34\x12\x99", encode_request(values, 16, True)], 4,
                        idle_cycles=600, check=check)
    assert decode_response(response, 1) == [707]


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


def test_host_link_real_core():
    # The link around the real accelerator: two requests, answered like the golden model.
    import numpy as np

    from netgen import random_qnet
    from snnhw import golden
    from snnhw.hw.accelerator import SNNAccelerator

    q, x = random_qnet(1, (6, 5, 3), timesteps=3)
    core = SNNAccelerator(q)
    link = HostLink(core, clk_freq=1e6, baud=125_000)  # 8 cycles per bit
    assert link.divisor == 8
    codes = q.quantise_input(x[:2])
    g = golden.run_codes(q, codes)
    n_out, n_layers = q.n_outputs, len(q.layers)
    assert core.readout_depth == n_out + 2 + n_layers + 1

    def check(ctx):
        assert ctx.get(core.busy) == 0
        assert ctx.get(core.done) == 0

    data = [encode_request(row, core.input_bits, core.input_signed) for row in codes]
    # The second request is sent after the first response (bytes sent before are dropped).
    response = simulate(link, data, 2 * 4 * core.readout_depth, idle_cycles=8000,
                        check=check)
    words = np.array(decode_response(response, 2 * core.readout_depth)).reshape(2, -1)
    assert words[:, :n_out].tolist() == g.potentials.tolist()
    assert words[:, n_out].tolist() == g.predicted.tolist()
    assert (words[:, n_out + 1] > 0).all()
    assert words[:, n_out + 2:n_out + 2 + n_layers].tolist() == g.events.tolist()
    assert words[:, -1].tolist() == g.exit_step.tolist()


class PipelinedCore(wiring.Component):
    """Core that takes the next image while it computes earlier ones (like ``SNNAccelerator``).

    Readout register ``k`` is ``sum(inputs) + k``. Up to two images are in flight; each result is
    done ``latency`` cycles after its last input, in order. ``done`` is low for at least one cycle
    after every ``ack``. Records ``images``, ``acks`` and ``bad_ack`` like :class:`DummyCore`.
    """
    def __init__(self, n_inputs, input_bits, readout_depth, latency):
        self.n_inputs = n_inputs
        self.input_bits = input_bits
        self.input_signed = False
        self.readout_depth = readout_depth
        self.latency = latency
        super().__init__({
            "in_valid": In(1),
            "in_ready": Out(1),
            "in_data":  In(input_bits),
            "done":     Out(1),
            "ack":      In(1),
            "busy":     Out(1),
            "rd_addr":  In(max(1, ceil_log2(readout_depth))),
            "rd_data":  Out(signed(32)),
        })
        self.images = Signal(8)
        self.acks = Signal(8)
        self.bad_ack = Signal()

    def elaborate(self, platform):
        m = Module()

        count = Signal(range(self.n_inputs + 1))
        acc = Signal(32)
        sums = Array(Signal(32, name=f"sum_{i}") for i in range(2))
        full = Array(Signal(name=f"full_{i}") for i in range(2))
        timers = Array(Signal(range(self.latency + 1), name=f"timer_{i}") for i in range(2))
        wr = Signal()
        rd = Signal()
        acked = Signal()

        m.d.comb += [
            self.in_ready.eq(~full[wr]),
            self.done.eq(full[rd] & (timers[rd] == 0) & ~acked),
            self.busy.eq((count != 0) | full[0] | full[1]),
        ]
        for timer in timers:
            with m.If(timer != 0):
                m.d.sync += timer.eq(timer - 1)

        with m.If(self.in_valid & self.in_ready):
            m.d.sync += [acc.eq(acc + self.in_data), count.eq(count + 1)]
            with m.If(count == 0):
                m.d.sync += self.images.eq(self.images + 1)
            with m.If(count == self.n_inputs - 1):
                m.d.sync += [
                    sums[wr].eq(acc + self.in_data),
                    full[wr].eq(1),
                    timers[wr].eq(self.latency),
                    wr.eq(~wr),
                    acc.eq(0),
                    count.eq(0),
                ]

        m.d.sync += acked.eq(self.ack)
        with m.If(self.ack):
            m.d.sync += [
                full[rd].eq(0),
                rd.eq(~rd),
                self.acks.eq(self.acks + 1),
            ]
            with m.If(~self.done):
                m.d.sync += self.bad_ack.eq(1)

        m.d.sync += self.rd_data.eq(sums[rd] + self.rd_addr)
        return m


def test_abandoned_result_done_while_waiting():
    # The abandoned image finishes only after the next request is complete: its result is
    # dropped while the link waits, and the link answers with the result of its own request.
    # The abandoned image (1, 0) is done about 1500 cycles after the timeout, 800 cycles before
    # the second one; the link is in its WAIT state from about 700 cycles before the drop.
    core = PipelinedCore(n_inputs=2, input_bits=8, readout_depth=1, latency=1500)
    link = HostLink(core, clk_freq=1e6, baud=250_000, timeout=300e-6)

    def check(ctx):
        assert ctx.get(core.images) == 2
        assert ctx.get(core.acks) == 2
        assert ctx.get(core.bad_ack) == 0
        assert ctx.get(core.busy) == 0

    response = simulate(link, [b"W\x01", b"W\x05\x06"], 4, idle_cycles=1200, check=check)
    assert decode_response(response, 1) == [11]
