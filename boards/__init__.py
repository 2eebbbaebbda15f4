"""Board support for snnhw: UART host link, board tops and the host-side driver.

* :mod:`boards.uart`: 8N1 UART receiver and transmitter.
* :mod:`boards.host_link`: :class:`~boards.host_link.HostLink`, which drives a core over a UART.
* :mod:`boards.platforms`: board registry and :class:`~boards.platforms.BoardTop`.
* :mod:`boards.host`: host-side protocol encoding and serial driver (needs ``pyserial``).
"""
