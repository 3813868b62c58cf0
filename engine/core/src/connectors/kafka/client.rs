//! Kafka-protocol brokers through librdkafka (the `rdkafka` crate, librdkafka built from its
//! bundled sources).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message as _;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::{LogConsumer, LogProducer, Message, PartitionOffset};
use crate::{Error, Result};

/// How long metadata and offset requests may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

fn kafka_err(what: &str, bootstrap: &str, e: KafkaError) -> Error {
    Error::External(format!(
        "kafka at '{bootstrap}' (option 'properties.bootstrap.servers'): {what}: {e}"
    ))
}

fn config(bootstrap: &str, properties: &[(String, String)]) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap);
    // Quiet librdkafka's own logging of connection retries; errors reach the job instead.
    c.set("log_level", "3");
    for (k, v) in properties {
        c.set(k, v);
    }
    c
}

/// A consumer reading assigned partitions.
pub struct RdConsumer {
    consumer: BaseConsumer,
    bootstrap: String,
    has_group: bool,
}

impl RdConsumer {
    pub fn new(
        bootstrap: &str,
        group: Option<&str>,
        properties: &[(String, String)],
    ) -> Result<Self> {
        let mut c = config(bootstrap, properties);
        c.set("enable.auto.commit", "false");
        c.set("enable.partition.eof", "false");
        // librdkafka needs a group id even to read by assignment; without the table's, one of
        // Weir's own that is never committed to.
        let group_id = group
            .map(str::to_string)
            .unwrap_or_else(|| format!("weir-{}", std::process::id()));
        c.set("group.id", &group_id);
        let consumer: BaseConsumer = c
            .create()
            .map_err(|e| kafka_err("cannot create a consumer", bootstrap, e))?;
        Ok(Self {
            consumer,
            bootstrap: bootstrap.to_string(),
            has_group: group.is_some(),
        })
    }

    fn err(&self, what: &str, e: KafkaError) -> Error {
        kafka_err(what, &self.bootstrap, e)
    }
}

impl LogConsumer for RdConsumer {
    fn partitions(
        &mut self,
        topics: &[String],
        pattern: Option<&regex::Regex>,
    ) -> Result<Vec<(String, i32)>> {
        let metadata = self
            .consumer
            .fetch_metadata(None, REQUEST_TIMEOUT)
            .map_err(|e| self.err("cannot read the cluster's topics", e))?;
        let mut out = Vec::new();
        for topic in metadata.topics() {
            let wanted = topics.iter().any(|t| t == topic.name())
                || pattern.is_some_and(|p| p.is_match(topic.name()));
            if wanted {
                out.extend(
                    topic
                        .partitions()
                        .iter()
                        .map(|p| (topic.name().to_string(), p.id())),
                );
            }
        }
        for t in topics {
            if !out.iter().any(|(name, _)| name == t) {
                return Err(Error::External(format!(
                    "kafka at '{}': topic '{t}' does not exist",
                    self.bootstrap
                )));
            }
        }
        out.sort();
        Ok(out)
    }

    fn watermarks(&mut self, topic: &str, partition: i32) -> Result<(i64, i64)> {
        self.consumer
            .fetch_watermarks(topic, partition, REQUEST_TIMEOUT)
            .map_err(|e| self.err(&format!("cannot read offsets of {topic}/{partition}"), e))
    }

    fn committed(&mut self, topic: &str, partition: i32) -> Result<Option<i64>> {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(topic, partition);
        let got = self
            .consumer
            .committed_offsets(tpl, REQUEST_TIMEOUT)
            .map_err(|e| self.err("cannot read committed offsets", e))?;
        Ok(got
            .find_partition(topic, partition)
            .and_then(|p| match p.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            }))
    }

    fn offset_for_time(&mut self, topic: &str, partition: i32, ts: i64) -> Result<i64> {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, Offset::Offset(ts))
            .map_err(|e| self.err("bad timestamp", e))?;
        let got = self
            .consumer
            .offsets_for_times(tpl, REQUEST_TIMEOUT)
            .map_err(|e| self.err("cannot look up offsets by time", e))?;
        match got.find_partition(topic, partition).map(|p| p.offset()) {
            Some(Offset::Offset(o)) => Ok(o),
            _ => Ok(self.watermarks(topic, partition)?.1),
        }
    }

    fn assign(&mut self, positions: &[PartitionOffset]) -> Result<()> {
        let mut tpl = TopicPartitionList::new();
        for p in positions {
            tpl.add_partition_offset(&p.topic, p.partition, Offset::Offset(p.offset))
                .map_err(|e| self.err("bad offset", e))?;
        }
        self.consumer
            .assign(&tpl)
            .map_err(|e| self.err("cannot assign partitions", e))
    }

    fn poll(
        &mut self,
        max: usize,
        timeout: Duration,
        each: &mut dyn FnMut(Message<'_>) -> Result<()>,
    ) -> Result<usize> {
        let deadline = Instant::now() + timeout;
        let mut n = 0;
        while n < max {
            let wait = if n == 0 {
                deadline.saturating_duration_since(Instant::now())
            } else {
                Duration::ZERO
            };
            let Some(polled) = self.consumer.poll(wait) else {
                break;
            };
            let m = polled.map_err(|e| self.err("cannot read", e))?;
            each(Message {
                topic: m.topic(),
                partition: m.partition(),
                offset: m.offset(),
                timestamp: m.timestamp().to_millis(),
                log_append_time: matches!(
                    m.timestamp(),
                    rdkafka::message::Timestamp::LogAppendTime(_)
                ),
                key: m.key(),
                value: m.payload(),
            })?;
            n += 1;
        }
        Ok(n)
    }

    fn commit(&mut self, positions: &[PartitionOffset]) -> Result<()> {
        if !self.has_group || positions.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for p in positions {
            tpl.add_partition_offset(&p.topic, p.partition, Offset::Offset(p.offset))
                .map_err(|e| self.err("bad offset", e))?;
        }
        self.consumer
            .commit(&tpl, CommitMode::Sync)
            .map_err(|e| self.err("cannot commit the group's offsets", e))
    }
}

/// Creates a topic (replication 1) unless it exists.
pub fn create_topic(
    bootstrap: &str,
    properties: &[(String, String)],
    topic: &str,
    partitions: i32,
) -> Result<()> {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    let admin: AdminClient<DefaultClientContext> = config(bootstrap, properties)
        .create()
        .map_err(|e| kafka_err("cannot create an admin client", bootstrap, e))?;
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let options = AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT));
    let results = futures::executor::block_on(admin.create_topics([&new], &options))
        .map_err(|e| kafka_err(&format!("cannot create topic '{topic}'"), bootstrap, e))?;
    for r in results {
        match r {
            Ok(_) | Err((_, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, code)) => {
                return Err(Error::External(format!(
                    "kafka at '{bootstrap}': cannot create topic '{t}': {code}"
                )))
            }
        }
    }
    Ok(())
}

/// Collects delivery failures reported by librdkafka.
#[derive(Clone, Default)]
pub struct DeliveryErrors(Arc<Mutex<Vec<String>>>);

impl ClientContext for DeliveryErrors {}

impl ProducerContext for DeliveryErrors {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: Self::DeliveryOpaque) {
        if let Err((e, m)) = result {
            if let Ok(mut errors) = self.0.lock() {
                errors.push(format!("{}/{}: {e}", m.topic(), m.partition()));
            }
        }
    }
}

/// A producer with Kafka's default (murmur2) partitioning, acknowledged by all replicas.
pub struct RdProducer {
    producer: BaseProducer<DeliveryErrors>,
    errors: DeliveryErrors,
    bootstrap: String,
}

impl RdProducer {
    pub fn new(bootstrap: &str, properties: &[(String, String)]) -> Result<Self> {
        let mut c = config(bootstrap, properties);
        // Java clients' partitioner, so keys land where Flink's Kafka sink would put them.
        if !properties.iter().any(|(k, _)| k == "partitioner") {
            c.set("partitioner", "murmur2_random");
        }
        if !properties.iter().any(|(k, _)| k == "enable.idempotence") {
            c.set("enable.idempotence", "true");
        }
        let errors = DeliveryErrors::default();
        let producer = c
            .create_with_context(errors.clone())
            .map_err(|e| kafka_err("cannot create a producer", bootstrap, e))?;
        Ok(Self {
            producer,
            errors,
            bootstrap: bootstrap.to_string(),
        })
    }
}

impl LogProducer for RdProducer {
    fn partition_count(&mut self, topic: &str) -> Result<i32> {
        let metadata = self
            .producer
            .client()
            .fetch_metadata(Some(topic), REQUEST_TIMEOUT)
            .map_err(|e| kafka_err("cannot read the topic", &self.bootstrap, e))?;
        Ok(metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .map(|t| t.partitions().len() as i32)
            .unwrap_or(0))
    }

    fn send(
        &mut self,
        topic: &str,
        partition: Option<i32>,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        timestamp: Option<i64>,
    ) -> Result<()> {
        loop {
            let mut record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic);
            if let Some(ts) = timestamp {
                record = record.timestamp(ts);
            }
            if let Some(k) = key {
                record = record.key(k);
            }
            if let Some(v) = value {
                record = record.payload(v);
            }
            if let Some(p) = partition {
                record = record.partition(p);
            }
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((
                    KafkaError::MessageProduction(rdkafka::types::RDKafkaErrorCode::QueueFull),
                    _,
                )) => {
                    // Back-pressure: let librdkafka deliver, then try again.
                    self.producer.poll(Duration::from_millis(50));
                }
                Err((e, _)) => {
                    return Err(kafka_err(
                        &format!("cannot write to '{topic}'"),
                        &self.bootstrap,
                        e,
                    ))
                }
            }
        }
    }

    fn flush(&mut self) -> Result<()> {
        self.producer
            .flush(Duration::from_secs(60))
            .map_err(|e| kafka_err("records were not acknowledged", &self.bootstrap, e))?;
        let failed: Vec<String> = self
            .errors
            .0
            .lock()
            .map(|mut e| std::mem::take(&mut *e))
            .unwrap_or_default();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(Error::External(format!(
                "kafka at '{}': {} records were not delivered: {}",
                self.bootstrap,
                failed.len(),
                failed
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            )))
        }
    }
}
