//! `skillgrid export`: every agent's assignments, in a shape `apply` reads back (CSV rows, or
//! JSON bulk items). Inactive agents and inactive skills are left out unless asked for, since
//! the server refuses writes to them: an export applied as it is changes nothing.
//!
//! One request: the server's export (`GET /agents/skills/export`) streams every assignment as
//! of one moment, by agent e-mail, then skill name. Its CSV is rewritten in this command's
//! shape as it arrives, on a thread of its own fed through a bounded channel, so memory stays
//! the same however large the organization. Should the answer break off, what was written is
//! incomplete and the command fails (exit 3).

use super::csvfile::HEADER;
use super::{exit, server_failure, ClientOpts};
use clap::{Args, ValueEnum};
use serde_json::{json, Map, Value};
use skillgrid_client::ExportQuery;
use std::io::{BufWriter, IsTerminal, Read, Write};
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// agent,skill,proficiency,effectiveDate,expirationDate rows.
    Csv,
    /// An array of bulk items: {"agentId": EMAIL, "skills": [{"skillId": NAME, …}]}.
    Json,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Output format (`--json` is the same as `--format json`).
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    /// Also export inactive agents and assignments of inactive skills. `apply` refuses those
    /// rows (the server does not write to inactive agents or skills), so such an export does
    /// not apply back cleanly.
    #[arg(long)]
    include_inactive: bool,
    #[command(flatten)]
    client: ClientOpts,
}

/// Chunks of the answer received ahead of the thread that writes them out.
const CHUNKS_AHEAD: usize = 16;

/// The export's CSV columns this command writes, in its own order: agentEmail, skillName,
/// proficiency, effectiveDate, expirationDate.
const COLUMNS: [usize; 5] = [1, 3, 4, 6, 7];
const SERVER_HEADER: [&str; 8] = [
    "agentId",
    "agentEmail",
    "skillId",
    "skillName",
    "proficiency",
    "level",
    "effectiveDate",
    "expirationDate",
];

pub async fn export(args: ExportArgs) -> u8 {
    let client = match args.client.client() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let query = ExportQuery {
        ndjson: false,
        active: (!args.include_inactive).then_some(true),
    };
    let mut answer = match client.export(query).await {
        Ok(a) => a,
        Err(e) => return server_failure("starting the export", &e),
    };
    let json_out = args.client.json || matches!(args.format, Format::Json);
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(CHUNKS_AHEAD);
    let writer = std::thread::spawn(move || {
        let input = Chunks {
            rx,
            chunk: Vec::new(),
            at: 0,
        };
        let out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        write_out(input, out, json_out, &Progress::new())
    });
    let received = loop {
        match answer.chunk().await {
            Ok(Some(c)) => {
                // The writer stopped: its error is reported below.
                if tx.send(c).await.is_err() {
                    break Ok(());
                }
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    drop(tx);
    let written = writer
        .join()
        .unwrap_or_else(|_| Err("the writer stopped unexpectedly".into()));
    if let Err(e) = received {
        return server_failure("receiving the export (the output is incomplete)", &e);
    }
    match written {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("error: writing the output: {e}");
            exit::USAGE
        }
    }
}

/// The answer's chunks as one `Read`, on the writer's thread.
struct Chunks {
    rx: tokio::sync::mpsc::Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
}

impl Read for Chunks {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.rx.blocking_recv() {
                Some(c) => {
                    self.chunk = c;
                    self.at = 0;
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Rows written, on stderr while it runs when that is a terminal.
struct Progress(Option<indicatif::ProgressBar>, std::cell::Cell<u64>);

impl Progress {
    fn new() -> Self {
        Progress(
            std::io::stderr().is_terminal().then(|| {
                let b = indicatif::ProgressBar::new_spinner();
                b.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} {pos} assignments exported [{elapsed}, {per_sec}]",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                b
            }),
            std::cell::Cell::new(0),
        )
    }

    /// One more row written (shown every 4,096).
    fn row(&self) {
        let n = self.1.get() + 1;
        self.1.set(n);
        if let Some(b) = self.0.as_ref().filter(|_| n.is_multiple_of(4096)) {
            b.set_position(n);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Rewrites the export's CSV from `input` into `out`, as CSV rows or JSON bulk items.
fn write_out(
    input: impl Read,
    mut out: impl Write,
    json_out: bool,
    progress: &Progress,
) -> Result<(), Failure> {
    let mut rows = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(input);
    let mut record = csv::ByteRecord::new();
    // Nothing at all: the export was cut short before its header.
    if !rows.read_byte_record(&mut record)? {
        return Err("the export's answer was empty".into());
    }
    if record.iter().ne(SERVER_HEADER.iter().map(|h| h.as_bytes())) {
        return Err("the export's columns are not the ones this command knows".into());
    }
    if !json_out {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(HEADER)?;
        while rows.read_byte_record(&mut record)? {
            w.write_record(COLUMNS.iter().map(|&c| &record[c]))?;
            progress.row();
        }
        w.flush()?;
        return Ok(());
    }
    write!(out, "[")?;
    // The agent being written (its e-mail) and its skills so far: rows come agent by agent.
    let mut agent: Option<(String, Vec<Value>)> = None;
    let mut first_item = true;
    let mut item = |out: &mut dyn Write, email: String, skills: Vec<Value>| {
        let sep = if first_item { "" } else { "," };
        first_item = false;
        writeln!(out, "{sep}{}", json!({"agentId": email, "skills": skills}))
    };
    while rows.read_byte_record(&mut record)? {
        let field = |c: usize| String::from_utf8_lossy(&record[c]).into_owned();
        let email = field(1);
        let mut o = Map::new();
        o.insert("skillId".into(), field(3).into());
        let proficiency: i64 = field(4).parse()?;
        o.insert("proficiency".into(), proficiency.into());
        for (c, key) in [(6, "effectiveDate"), (7, "expirationDate")] {
            if !record[c].is_empty() {
                o.insert(key.into(), field(c).into());
            }
        }
        match &mut agent {
            Some((current, skills)) if *current == email => skills.push(Value::Object(o)),
            _ => {
                if let Some((email, skills)) = agent.take() {
                    item(&mut out, email, skills)?;
                }
                agent = Some((email, vec![Value::Object(o)]));
            }
        }
        progress.row();
    }
    if let Some((email, skills)) = agent.take() {
        item(&mut out, email, skills)?;
    }
    writeln!(out, "]")?;
    out.flush()?;
    Ok(())
}
