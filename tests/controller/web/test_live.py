"""The live hub alone: coalesced station rows, events in order, slow subscribers dropped, a clean close."""

from __future__ import annotations

import asyncio
import threading

from controller.web.live import QUEUE, LiveHub, sse


def test_station_changes_are_coalesced_into_one_read_and_reach_every_subscriber():
    reads: list[list[str]] = []
    hub = LiveHub(lambda ids: reads.append(ids) or [f"row {i}" for i in ids], interval=0.05)

    async def main():
        loop = asyncio.get_running_loop()
        a, b = hub.subscribe(loop), hub.subscribe(loop)
        hub.start()
        for sid in ("st-02", "st-01", "st-02"):
            threading.Thread(target=hub.station_changed, args=(sid,)).start()
        hub.notify("alarms", {"open": 1})
        hub.notify("alarms", {"open": 2})  # only the latest of one kind per flush
        got = [await asyncio.wait_for(a.queue.get(), 5), await asyncio.wait_for(a.queue.get(), 5)]
        other = await asyncio.wait_for(b.queue.get(), 5)
        hub.close()
        end = await asyncio.wait_for(a.queue.get(), 5)
        return got, other, end

    got, other, end = asyncio.run(main())
    assert reads == [["st-01", "st-02"]]
    assert got == [("station", ["row st-01", "row st-02"]), ("alarms", {"open": 2})]
    assert other == got[0] and end is None


def test_a_subscriber_that_falls_behind_is_dropped_and_told_to_reconnect():
    hub = LiveHub(lambda ids: [])

    async def main():
        sub = hub.subscribe(asyncio.get_running_loop())
        for i in range(QUEUE + 10):
            hub.publish("packets", i)
        async def dropped() -> None:  # the deliveries run as loop callbacks: yield until they have
            while not sub.dropped:
                await asyncio.sleep(0)

        await asyncio.wait_for(dropped(), 5)
        items = []
        while not sub.queue.empty():
            items.append(sub.queue.get_nowait())
        return sub, items

    sub, items = asyncio.run(main())
    assert sub.dropped and hub.subscribers == 0 and items[-1] is None


def test_sse_framing_puts_every_line_in_its_own_data_field():
    assert sse("station", "<tr>\n<td>a</td>\n</tr>") == "event: station\ndata: <tr>\ndata: <td>a</td>\ndata: </tr>\n\n"
