"""oms.broker: kombu's Redis transport with one client kept per channel."""

from __future__ import annotations

import uuid

from kombu import Connection

from oms.broker import Channel, Transport


def test_the_settings_use_it_for_a_redis_broker_only(tmp_path):
    from tests.test_settings_modes import clean_env, run

    read = "import oms.settings as s; print(getattr(s, 'CELERY_BROKER_TRANSPORT', None))"
    for url, expected in (
        ("redis://broker.internal:6379/0", "oms.broker:Transport"),
        ("rediss://broker.internal:6380/0", "oms.broker:Transport"),
        ("filesystem://", "None"),
    ):
        env = clean_env(OMS_VAR_DIR=str(tmp_path), CELERY_BROKER_URL=url)
        result = run(["-c", read], env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == expected


def test_messages_published_through_one_kept_client_arrive_in_order(redis_url):
    # given a queue of this test's own on the Redis the PostgreSQL run uses
    queue = f"oms-test-{uuid.uuid4().hex[:10]}"
    with Connection(redis_url, transport=Transport) as conn:
        channel = conn.channel()
        assert isinstance(channel, Channel)
        producer = conn.Producer(channel)
        try:
            # when three messages are published
            for n in range(3):
                producer.publish({"n": n}, routing_key=queue, serializer="json")
            kept = channel._kept_client
            producer.publish({"n": 3}, routing_key=queue, serializer="json")
            # then one client sent them all, on the channel's pool
            assert kept is not None
            assert channel._kept_client is kept
            assert kept.connection_pool is channel.pool
            # and the four are in the queue
            with channel.conn_or_acquire() as client:
                assert client.llen(queue) == 4
            # and a consumer on the same transport gets them back, in order
            got = []
            with conn.SimpleQueue(queue) as q:
                for _ in range(4):
                    message = q.get(timeout=5)
                    got.append(message.payload["n"])
                    message.ack()
            assert got == [0, 1, 2, 3]
        finally:
            with channel.conn_or_acquire() as client:
                client.delete(queue)
            channel.close()


def test_a_new_pool_gets_a_new_client(redis_url):
    with Connection(redis_url, transport=Transport) as conn:
        channel = conn.channel()
        try:
            with channel.conn_or_acquire() as first:
                assert first.ping()
            channel._disconnect_pools()  # what kombu does when a channel reconnects
            with channel.conn_or_acquire() as second:
                assert second.ping()
            assert second is not first
            assert second.connection_pool is channel.pool
        finally:
            channel.close()
