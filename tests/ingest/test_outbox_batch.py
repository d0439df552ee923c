"""The batched outbox row's payload: many (topic, key, value) messages that survive the round trip exactly."""
from __future__ import annotations

from shared.db.outbox import decode_messages, encode_messages


def test_batched_payload_round_trips_keys_none_keys_and_unicode():
    messages = [("replenish.ingest.sales.v1", "store-1:SKU-1", b'{"n":1}'),
                ("replenish.ingest.stock.v1", None, b""),
                ("replenish.ingest.sales.v1", "店-1:商品", '{"名":"x"}'.encode())]
    decoded = decode_messages(encode_messages(messages))
    assert decoded == [("replenish.ingest.sales.v1", b"store-1:SKU-1", b'{"n":1}'),
                       ("replenish.ingest.stock.v1", None, b""),
                       ("replenish.ingest.sales.v1", "店-1:商品".encode(), '{"名":"x"}'.encode())]


def test_empty_key_is_kept_apart_from_no_key():
    decoded = decode_messages(encode_messages([("t", "", b"v")]))
    assert decoded == [("t", b"", b"v")]


def test_empty_batch_decodes_to_nothing():
    assert decode_messages(encode_messages([])) == []


def test_topics_of_one_length_alternating_decode_apart():
    messages = [("a.v1", "k", b"1"), ("b.v1", "k", b"2"), ("b.v1", None, b"3"), ("a.v1", "k", b"4"),
                ("a.v10", "k", b"5")]
    decoded = decode_messages(encode_messages(messages))
    assert [(t, v) for t, _, v in decoded] == [("a.v1", b"1"), ("b.v1", b"2"), ("b.v1", b"3"), ("a.v1", b"4"),
                                               ("a.v10", b"5")]
