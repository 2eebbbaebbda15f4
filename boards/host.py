"""Host side of the UART host link (see ``boards/README.md`` for the protocol).

The encoding functions are pure; :class:`HostLinkClient` needs ``pyserial`` (imported lazily) when
given a port name.
"""

from .host_link import CMD_WRITE


__all__ = ["value_bytes", "encode_request", "decode_response", "HostLinkClient"]


def value_bytes(input_bits):
    """Bytes per input value on the wire."""
    return (input_bits + 7) // 8


def encode_request(values, input_bits, input_signed):
    """Request bytes: ``b"W"`` then each value little-endian in :func:`value_bytes` bytes.

    Raises :exc:`ValueError` if a value does not fit in ``input_bits`` bits.
    """
    if input_signed:
        low, high = -(1 << (input_bits - 1)), (1 << (input_bits - 1)) - 1
    else:
        low, high = 0, (1 << input_bits) - 1
    nbytes = value_bytes(input_bits)
    data = bytearray([CMD_WRITE])
    for index, value in enumerate(values):
        value = int(value)
        if not low <= value <= high:
            raise ValueError(f"Input {index} = {value} does not fit in "
                             f"{'signed' if input_signed else 'unsigned'}({input_bits})")
        data += (value & ((1 << (8 * nbytes)) - 1)).to_bytes(nbytes, "little")
    return bytes(data)


def decode_response(data, readout_depth):
    """Readout words from response bytes (4 bytes each, little-endian two's complement)."""
    if len(data) != 4 * readout_depth:
        raise ValueError(f"Expected {4 * readout_depth} response bytes, got {len(data)}")
    return [int.from_bytes(data[4 * k:4 * k + 4], "little", signed=True)
            for k in range(readout_depth)]


class HostLinkClient:
    """Runs inferences on a board through its host link.

    Parameters
    ----------
    port : str or serial-like
        Serial port name (opened with ``pyserial``), or an open object with ``write`` and
        ``read`` methods.
    n_inputs, input_bits, input_signed, readout_depth
        The core's parameters (see :meth:`for_core`).
    baud : int
        Baud rate (must match the bitstream).
    timeout : float
        Seconds to wait for the response.
    """
    def __init__(self, port, *, n_inputs, input_bits, input_signed, readout_depth,
                 baud=115200, timeout=2.0):
        self.n_inputs = n_inputs
        self.input_bits = input_bits
        self.input_signed = input_signed
        self.readout_depth = readout_depth
        if isinstance(port, str):
            import serial  # pyserial
            self.serial = serial.Serial(port, baud, timeout=timeout)
            self._owned = True
        else:
            self.serial = port
            self._owned = False

    @classmethod
    def for_core(cls, core, port, **kwargs):
        """A client for a board running ``HostLink(core, ...)``."""
        return cls(port, n_inputs=core.n_inputs, input_bits=core.input_bits,
                   input_signed=core.input_signed, readout_depth=core.readout_depth, **kwargs)

    def infer(self, values):
        """Send one input vector and return the ``readout_depth`` readout words."""
        values = list(values)
        if len(values) != self.n_inputs:
            raise ValueError(f"Expected {self.n_inputs} inputs, got {len(values)}")
        request = encode_request(values, self.input_bits, self.input_signed)
        if hasattr(self.serial, "reset_input_buffer"):
            self.serial.reset_input_buffer()
        self.serial.write(request)
        expected = 4 * self.readout_depth
        response = self.serial.read(expected)
        if len(response) != expected:
            raise TimeoutError(f"Board answered {len(response)} of {expected} bytes")
        return decode_response(response, self.readout_depth)

    def close(self):
        if self._owned:
            self.serial.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
