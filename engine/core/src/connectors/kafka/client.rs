//! Kafka-protocol brokers through librdkafka (the `rdkafka` crate, librdkafka built from its
//! bundled sources).
//!
//! Connection trouble is sorted three ways. An authentication failure fails at once (librdkafka
//! itself would retry it for ever). A broker that does not answer when a job starts fails it
//! after [`REQUEST_TIMEOUT`]. A broker lost while a job runs is ridden out, as Flink's Kafka
//! clients do: librdkafka reconnects and resumes fetching from the position it had, and the
//! job fails only if the broker stays away for [`OUTAGE_LIMIT`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::client::Client;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message as _;
use rdkafka::metadata::Metadata;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::{LogConsumer, LogProducer, Message, PartitionOffset};
use crate::{Error, Result};

/// How long metadata and offset requests may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a running job waits for a broker it lost before it fails.
pub const OUTAGE_LIMIT: Duration = Duration::from_secs(60);

/// What kind of trouble a librdkafka error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trouble {
    /// Wrong credentials or missing rights: retrying does not help.
    Auth,
    /// The broker is unreachable or busy for now; librdkafka reconnects and retries.
    Transient,
    Other,
}

fn trouble(e: &KafkaError) -> Trouble {
    use RDKafkaErrorCode::*;
    match e.rdkafka_error_code() {
        Some(
            Authentication
            | SaslAuthenticationFailed
            | TopicAuthorizationFailed
            | GroupAuthorizationFailed
            | ClusterAuthorizationFailed,
        ) => Trouble::Auth,
        Some(
            BrokerTransportFailure
            | AllBrokersDown
            | Resolve
            | OperationTimedOut
            | RequestTimedOut
            | TimedOutQueue
            | NetworkException
            | LeaderNotAvailable
            | NotLeaderForPartition
            | BrokerNotAvailable
            | CoordinatorNotAvailable
            | CoordinatorLoadInProgress
            | NotCoordinator
            | WaitingForCoordinator,
        ) => Trouble::Transient,
        _ => Trouble::Other,
    }
}

/// An error of the broker at `bootstrap`, naming the option that points at it. The text
/// comes from librdkafka and Weir, never from `properties.*` values, so no password shows.
fn kafka_err(what: &str, bootstrap: &str, e: KafkaError) -> Error {
    let hint = match trouble(&e) {
        Trouble::Auth => "; authentication failed: check 'properties.security.protocol', 'properties.sasl.mechanism', 'properties.sasl.username' and 'properties.sasl.password'",
        _ if e.rdkafka_error_code() == Some(RDKafkaErrorCode::MessageSizeTooLarge) => {
            "; the limit is 'properties.message.max.bytes' (librdkafka's, default 1000000) and the broker's"
        }
        _ => "",
    };
    Error::External(format!(
        "kafka at '{bootstrap}' (option 'properties.bootstrap.servers'): {what}: {e}{hint}"
    ))
}

/// Reads the cluster's metadata (of `topic`, or of every topic) in short attempts, looking
/// at librdkafka's errors in between (`errors` hands them over): an authentication failure
/// fails at once; no answer fails after [`REQUEST_TIMEOUT`] with the last error seen.
fn fetch_metadata<C: ClientContext>(
    client: &Client<C>,
    topic: Option<&str>,
    bootstrap: &str,
    what: &str,
    errors: &mut dyn FnMut() -> Option<KafkaError>,
) -> Result<Metadata> {
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    let mut last: Option<KafkaError> = None;
    loop {
        let attempt = deadline
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(500));
        let result = client.fetch_metadata(topic, attempt);
        while let Some(e) = errors() {
            if trouble(&e) == Trouble::Auth {
                return Err(kafka_err(what, bootstrap, e));
            }
            last = Some(e);
        }
        match result {
            Ok(m) => return Ok(m),
            Err(e) if trouble(&e) == Trouble::Transient && Instant::now() < deadline => {
                if last.is_none() {
                    last = Some(e);
                }
            }
            Err(e) => {
                return Err(match last {
                    Some(cause) => kafka_err(
                        &format!(
                            "{what}: no answer in {} s (last error: {cause})",
                            REQUEST_TIMEOUT.as_secs()
                        ),
                        bootstrap,
                        e,
                    ),
                    None => kafka_err(what, bootstrap, e),
                })
            }
        }
    }
}

/// librdkafka refused the table's `properties.*` (a bad name, value or combination).
fn config_err(what: &str, bootstrap: &str, e: KafkaError) -> Error {
    Error::External(format!(
        "kafka at '{bootstrap}': {what}: the table's 'properties.*' options (without the prefix, as librdkafka names them): {e}"
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
    /// Whether partitions are assigned: from then on a lost broker is waited for.
    running: bool,
    /// Since when the broker has been unreachable, and librdkafka's last word about it.
    outage: Option<(Instant, String)>,
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
            .map_err(|e| config_err("cannot create a consumer", bootstrap, e))?;
        Ok(Self {
            consumer,
            bootstrap: bootstrap.to_string(),
            has_group: group.is_some(),
            running: false,
            outage: None,
        })
    }

    fn err(&self, what: &str, e: KafkaError) -> Error {
        kafka_err(what, &self.bootstrap, e)
    }

    /// Takes an error of a running job's request: a lost broker is waited for (up to
    /// [`OUTAGE_LIMIT`]), anything else fails.
    fn ride_out(&mut self, what: &str, e: KafkaError) -> Result<()> {
        if !self.running || trouble(&e) != Trouble::Transient {
            return Err(self.err(what, e));
        }
        let since = self.outage.as_ref().map_or_else(Instant::now, |(t, _)| *t);
        self.outage = Some((since, e.to_string()));
        self.check_outage()
    }

    /// Fails once the broker has been away for [`OUTAGE_LIMIT`], unless it answers now.
    fn check_outage(&mut self) -> Result<()> {
        let Some((since, last)) = &self.outage else {
            return Ok(());
        };
        if since.elapsed() < OUTAGE_LIMIT {
            return Ok(());
        }
        match self.consumer.fetch_metadata(None, Duration::from_secs(5)) {
            Ok(_) => {
                self.outage = None;
                Ok(())
            }
            Err(_) => Err(Error::External(format!(
                "kafka at '{}' (option 'properties.bootstrap.servers'): unreachable for {} s while the job ran (last error: {last})",
                self.bootstrap,
                since.elapsed().as_secs()
            ))),
        }
    }
}

impl LogConsumer for RdConsumer {
    fn partitions(
        &mut self,
        topics: &[String],
        pattern: Option<&regex::Regex>,
    ) -> Result<Vec<(String, i32)>> {
        let consumer = &self.consumer;
        let metadata = fetch_metadata(
            consumer.client(),
            None,
            &self.bootstrap,
            "cannot read the cluster's topics",
            &mut || match consumer.poll(Duration::ZERO) {
                Some(Err(e)) => Some(e),
                _ => None,
            },
        )?;
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

    fn at_end(&mut self, topic: &str, partition: i32, next: i64) -> Result<bool> {
        match self
            .consumer
            .fetch_watermarks(topic, partition, REQUEST_TIMEOUT)
        {
            Ok((_, high)) => Ok(next >= high),
            Err(e) => {
                // While the broker is away the end is unknown: not caught up yet.
                self.ride_out(&format!("cannot read offsets of {topic}/{partition}"), e)?;
                Ok(false)
            }
        }
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
            .map_err(|e| self.err("cannot assign partitions", e))?;
        self.running = true;
        Ok(())
    }

    fn poll(
        &mut self,
        max: usize,
        timeout: Duration,
        each: &mut dyn FnMut(Message<'_>) -> Result<()>,
    ) -> Result<usize> {
        self.check_outage()?;
        let deadline = Instant::now() + timeout;
        let mut n = 0;
        let mut failed = None;
        while n < max {
            let wait = if n == 0 {
                deadline.saturating_duration_since(Instant::now())
            } else {
                Duration::ZERO
            };
            let m = match self.consumer.poll(wait) {
                None => break,
                Some(Err(e)) => {
                    failed = Some(e);
                    break;
                }
                Some(Ok(m)) => m,
            };
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
        if n > 0 {
            // Records arrived: the broker is back.
            self.outage = None;
        }
        if let Some(e) = failed {
            // librdkafka reconnects by itself and goes on fetching from its position.
            self.ride_out("cannot read", e)?;
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
        if self.outage.is_some() {
            // While the broker is away, commits would pile up in librdkafka (and hold up
            // closing the consumer): ask first whether it is back.
            if let Err(e) = self
                .consumer
                .committed_offsets(tpl.clone(), REQUEST_TIMEOUT)
            {
                return self.ride_out("cannot commit the group's offsets", e);
            }
        }
        // librdkafka's synchronous commit waits for ever for a group coordinator while the
        // broker is away; so commit asynchronously and read the offsets back, bounded.
        if let Err(e) = self.consumer.commit(&tpl, CommitMode::Async) {
            return self.ride_out("cannot commit the group's offsets", e);
        }
        let deadline = Instant::now() + REQUEST_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.consumer.committed_offsets(tpl.clone(), left) {
                Ok(got) => {
                    let done = positions.iter().all(|p| {
                        got.find_partition(&p.topic, p.partition)
                            .is_some_and(|c| c.offset() == Offset::Offset(p.offset))
                    });
                    if done {
                        self.outage = None;
                        return Ok(());
                    }
                    if left.is_zero() {
                        // Not committed now: the next checkpoint commits newer positions.
                        return self.ride_out(
                            "cannot commit the group's offsets",
                            KafkaError::ConsumerCommit(RDKafkaErrorCode::OperationTimedOut),
                        );
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => return self.ride_out("cannot commit the group's offsets", e),
            }
        }
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
        .map_err(|e| config_err("cannot create an admin client", bootstrap, e))?;
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let options = AdminOptions::new()
        .operation_timeout(Some(REQUEST_TIMEOUT))
        .request_timeout(Some(REQUEST_TIMEOUT));
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

/// Collects what librdkafka reports to a producer: failed deliveries, and client errors
/// (a broker that cannot be reached or refuses the credentials).
#[derive(Clone, Default)]
pub struct DeliveryErrors {
    failed: Arc<Mutex<Vec<String>>>,
    client: Arc<Mutex<Vec<KafkaError>>>,
}

impl ClientContext for DeliveryErrors {
    fn error(&self, error: KafkaError, _reason: &str) {
        if let Ok(mut errors) = self.client.lock() {
            errors.push(error);
        }
    }
}

impl ProducerContext for DeliveryErrors {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: Self::DeliveryOpaque) {
        if let Err((e, m)) = result {
            if let Ok(mut errors) = self.failed.lock() {
                errors.push(format!(
                    "{}/{}: a record of {} bytes: {e}",
                    m.topic(),
                    m.partition(),
                    m.key_len() + m.payload_len()
                ));
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
            .map_err(|e| config_err("cannot create a producer", bootstrap, e))?;
        Ok(Self {
            producer,
            errors,
            bootstrap: bootstrap.to_string(),
        })
    }

    fn metadata(&self, topic: &str) -> Result<Metadata> {
        let producer = &self.producer;
        let client_errors = &self.errors.client;
        fetch_metadata(
            producer.client(),
            Some(topic),
            &self.bootstrap,
            &format!("cannot read topic '{topic}'"),
            &mut || {
                // Serves librdkafka's events, which hands client errors to the context.
                producer.poll(Duration::ZERO);
                client_errors.lock().ok().and_then(|mut e| e.pop())
            },
        )
    }
}

impl LogProducer for RdProducer {
    fn check(&mut self, topic: &str) -> Result<()> {
        self.metadata(topic).map(|_| ())
    }

    fn partition_count(&mut self, topic: &str) -> Result<i32> {
        let metadata = self.metadata(topic)?;
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
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    // Back-pressure: let librdkafka deliver, then try again.
                    self.producer.poll(Duration::from_millis(50));
                }
                Err((e, _)) => {
                    let size = key.map_or(0, <[u8]>::len) + value.map_or(0, <[u8]>::len);
                    return Err(kafka_err(
                        &format!(
                            "cannot write a record of {size} bytes (key and value) to '{topic}'"
                        ),
                        &self.bootstrap,
                        e,
                    ));
                }
            }
        }
    }

    fn flush(&mut self) -> Result<()> {
        let flushed = self.producer.flush(Duration::from_secs(60));
        let failed: Vec<String> = self
            .errors
            .failed
            .lock()
            .map(|mut e| std::mem::take(&mut *e))
            .unwrap_or_default();
        if !failed.is_empty() {
            return Err(Error::External(format!(
                "kafka at '{}': {} records were not delivered: {}",
                self.bootstrap,
                failed.len(),
                failed
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            )));
        }
        flushed.map_err(|e| kafka_err("records were not acknowledged", &self.bootstrap, e))
    }
}
