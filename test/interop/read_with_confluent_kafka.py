"""Reads a topic Waybill wrote, decoding every record with Confluent's own Python client.

Prints one JSON object per record: partition, offset, key, schema id and the decoded value, so a
test can compare them with what Waybill encoded. Knows nothing of Waybill: only the broker, the
registry URL and the Confluent wire format.
"""
import argparse
import datetime
import json
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaError
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def plain(value):
    """fastavro turns timestamp-millis into datetimes; print them as the epoch ms they were written as."""
    if isinstance(value, datetime.datetime):
        return (value - EPOCH) // datetime.timedelta(milliseconds=1)
    raise TypeError(f"cannot print {type(value).__name__}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--brokers", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--registry", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()

    deserialize = AvroDeserializer(SchemaRegistryClient({"url": args.registry}))
    consumer = Consumer(
        {
            "bootstrap.servers": args.brokers,
            "group.id": f"python-interop-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    consumer.subscribe([args.topic])
    seen = 0
    deadline = time.monotonic() + args.timeout
    try:
        while seen < args.count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    continue
                print(f"consumer error: {message.error()}", file=sys.stderr)
                return 2
            raw = message.value()
            value = deserialize(raw, SerializationContext(message.topic(), MessageField.VALUE))
            print(
                json.dumps(
                    {
                        "partition": message.partition(),
                        "offset": message.offset(),
                        "key": message.key().decode("utf-8") if message.key() else None,
                        "schemaId": int.from_bytes(raw[1:5], "big"),
                        "value": value,
                    },
                    default=plain,
                ),
                flush=True,
            )
            seen += 1
    finally:
        consumer.close()
    if seen < args.count:
        print(f"read {seen} of {args.count} records before the timeout", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
