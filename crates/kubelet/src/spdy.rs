//! The SPDY/3.1 the API server speaks to a kubelet for `exec` (in v1.33 it always does:
//! it translates a client's WebSocket `v5.channel.k8s.io` into SPDY towards the node,
//! `k8s.io/apiserver/pkg/util/proxy/streamtranslator.go`), with the `v4.channel.k8s.io`
//! streams of `remotecommand`.
//!
//! The framing is SPDY/3's as `github.com/moby/spdystream/spdy` (v0.5.0) reads and writes
//! it (`read.go`, `write.go`, `types.go`): an 8-byte header for control frames
//! (version 3, type, flags, length) and data frames (stream id, flags, length); header
//! blocks are name/value pairs with 32-bit lengths, compressed with one zlib stream per
//! direction primed with SPDY/3's dictionary (`dictionary.go`) and flushed after each
//! block. spdystream does no flow control (it neither sends nor reads WINDOW_UPDATE), so
//! neither does this side. A stream the client opens is answered with SYN_REPLY before
//! any data is sent on it (`Stream.SendReply`; the client drops data on a stream it has
//! no reply for), and a side's end of a stream is a data frame with FIN.
//!
//! The streams (`k8s.io/kubelet/pkg/cri/streaming/remotecommand/httpstream.go`): the
//! client opens one per `streamType` header — `error`, then `stdin`, `stdout`, `stderr`
//! as asked, and `resize` for a terminal — and the server waits for all of them, for at
//! most 30 s (`DefaultStreamCreationTimeout`), before it runs the command; the exit
//! status is a `metav1.Status` on the error stream (`exec.go`, `ServeExec`), then the
//! connection closes.

use crate::Kubelet;
use crate::answer::{Body, http_error, pod_not_found, text};
use apiserver::runtime::{ExecSession, Remote};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// The one protocol this node speaks for exec.
const V4: &str = "v4.channel.k8s.io";

/// `DefaultStreamCreationTimeout` (`k8s.io/apimachinery/pkg/util/remotecommand/constants.go`).
const STREAM_CREATION_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest data frame written: spdystream reads any size up to 2^24 - 1.
const MAX_DATA: usize = 32 * 1024;

/// The most a header block may inflate to: a few headers are expected, and a block
/// compressed a thousandfold must not take the node's memory.
const MAX_HEADER_BLOCK: usize = 256 * 1024;

/// Data frames a stream holds before the connection waits for its reader: spdystream
/// hands each frame over unbuffered, so a slow stream holds the connection back rather
/// than filling the node's memory.
const STREAM_BUFFER: usize = 16;

/// How long a closed connection is still read, so that the client's last frames do not
/// make the socket close with a reset (which would discard what was still unsent).
const DRAIN: Duration = Duration::from_secs(5);

/// SPDY/3's control frame types (`types.go`).
const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const FLAG_FIN: u8 = 0x01;

/// The standard streams an exec asks for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamOptions {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

impl StreamOptions {
    /// The streams the client opens (`httpstream.go`, `createHTTPStreamStreams`: the error
    /// stream, each standard stream asked for, and resize with a terminal from v3 on).
    fn expected(&self) -> usize {
        1 + usize::from(self.stdin)
            + usize::from(self.stdout)
            + usize::from(self.stderr)
            + usize::from(self.tty)
    }
}

/// SPDY/3's header compression dictionary: 65 length-prefixed words, then a run of
/// status lines, dates and media types (`spdy/dictionary.go`, `headerDictionary`; 1423
/// bytes).
fn dictionary() -> &'static [u8] {
    static DICTIONARY: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    DICTIONARY.get_or_init(|| {
        const WORDS: [&str; 65] = [
            "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset",
            "accept-encoding", "accept-language", "accept-ranges", "age", "allow",
            "authorization", "cache-control", "connection", "content-base",
            "content-encoding", "content-language", "content-length", "content-location",
            "content-md5", "content-range", "content-type", "date", "etag", "expect",
            "expires", "from", "host", "if-match", "if-modified-since", "if-none-match",
            "if-range", "if-unmodified-since", "last-modified", "location", "max-forwards",
            "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer",
            "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade",
            "user-agent", "vary", "via", "warning", "www-authenticate", "method", "get",
            "status", "200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie",
            "keep-alive", "origin",
        ];
        const TAIL: &str = "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";
        let mut d = Vec::with_capacity(1423);
        for w in WORDS {
            d.extend_from_slice(&(w.len() as u32).to_be_bytes());
            d.extend_from_slice(w.as_bytes());
        }
        d.extend_from_slice(TAIL.as_bytes());
        d
    })
}

/// A frame as read.
#[derive(Debug, PartialEq)]
enum Frame {
    Control {
        kind: u16,
        flags: u8,
        payload: Bytes,
    },
    Data {
        stream: u32,
        flags: u8,
        data: Bytes,
    },
}

/// Why a connection ended badly.
#[derive(Debug, thiserror::Error)]
enum SpdyError {
    #[error("reading: {0}")]
    Io(#[from] std::io::Error),
    #[error("unsupported SPDY version {0}")]
    Version(u16),
    #[error("malformed {0}")]
    Malformed(&'static str),
    #[error("header block: {0}")]
    Headers(String),
}

/// Reads one frame.
async fn read_frame(r: &mut (impl AsyncRead + Unpin)) -> Result<Frame, SpdyError> {
    let mut head = [0u8; 8];
    r.read_exact(&mut head).await?;
    let flags = head[4];
    let len = u32::from_be_bytes([0, head[5], head[6], head[7]]) as usize;
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload).await?;
    let payload = Bytes::from(payload);
    if head[0] & 0x80 != 0 {
        let version = u16::from_be_bytes([head[0] & 0x7f, head[1]]);
        if version != 3 {
            return Err(SpdyError::Version(version));
        }
        Ok(Frame::Control {
            kind: u16::from_be_bytes([head[2], head[3]]),
            flags,
            payload,
        })
    } else {
        Ok(Frame::Data {
            stream: u32::from_be_bytes([head[0], head[1], head[2], head[3]]) & 0x7fff_ffff,
            flags,
            data: payload,
        })
    }
}

fn control_frame(kind: u16, flags: u8, payload: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(8 + payload.len());
    out.put_u16(0x8003);
    out.put_u16(kind);
    out.put_u8(flags);
    out.put_uint(payload.len() as u64, 3);
    out.put_slice(payload);
    out.freeze()
}

fn data_frame(stream: u32, fin: bool, data: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(8 + data.len());
    out.put_u32(stream & 0x7fff_ffff);
    out.put_u8(if fin { FLAG_FIN } else { 0 });
    out.put_uint(data.len() as u64, 3);
    out.put_slice(data);
    out.freeze()
}

/// One direction's header compression: a zlib stream primed with the dictionary.
struct Deflater(Compress);

impl Deflater {
    fn new() -> Result<Deflater, String> {
        // spdystream's framer compresses at zlib's best level (`write.go`).
        let mut c = Compress::new(Compression::best(), true);
        c.set_dictionary(dictionary()).map_err(|e| e.to_string())?;
        Ok(Deflater(c))
    }

    /// The compressed block for `headers`, flushed so the peer can read it at once.
    fn block(&mut self, headers: &[(&str, &str)]) -> Result<Vec<u8>, String> {
        let mut plain = BytesMut::new();
        plain.put_u32(headers.len() as u32);
        for (name, value) in headers {
            plain.put_u32(name.len() as u32);
            plain.put_slice(name.to_ascii_lowercase().as_bytes());
            plain.put_u32(value.len() as u32);
            plain.put_slice(value.as_bytes());
        }
        let mut out = Vec::with_capacity(plain.len() + 64);
        let mut input: &[u8] = &plain;
        loop {
            out.reserve(256);
            let before = self.0.total_in();
            self.0
                .compress_vec(input, &mut out, FlushCompress::Sync)
                .map_err(|e| e.to_string())?;
            input = &input[(self.0.total_in() - before) as usize..];
            if input.is_empty() && out.len() < out.capacity() {
                return Ok(out);
            }
        }
    }
}

/// The other direction: inflating header blocks, supplying the dictionary when zlib asks.
struct Inflater(Decompress);

impl Inflater {
    fn new() -> Inflater {
        Inflater(Decompress::new(true))
    }

    fn block(&mut self, compressed: &[u8]) -> Result<Vec<(String, String)>, SpdyError> {
        let mut plain = Vec::with_capacity(compressed.len() * 4 + 64);
        let mut input = compressed;
        loop {
            if plain.len() > MAX_HEADER_BLOCK {
                return Err(SpdyError::Headers(format!(
                    "a header block inflates beyond {MAX_HEADER_BLOCK} bytes"
                )));
            }
            plain.reserve(1024);
            let before = self.0.total_in();
            let result = self
                .0
                .decompress_vec(input, &mut plain, FlushDecompress::Sync);
            input = &input[(self.0.total_in() - before) as usize..];
            match result {
                Ok(Status::StreamEnd) => break,
                Ok(_) if input.is_empty() && plain.len() < plain.capacity() => break,
                Ok(_) => {}
                Err(e) if e.needs_dictionary().is_some() => {
                    self.0
                        .set_dictionary(dictionary())
                        .map_err(|e| SpdyError::Headers(e.to_string()))?;
                }
                Err(e) => return Err(SpdyError::Headers(e.to_string())),
            }
        }
        parse_headers(&plain)
    }
}

/// A header block's pairs (a value holding several is NUL-separated; they stay joined).
fn parse_headers(mut b: &[u8]) -> Result<Vec<(String, String)>, SpdyError> {
    let take = |b: &mut &[u8]| -> Result<String, SpdyError> {
        if b.remaining() < 4 {
            return Err(SpdyError::Malformed("header block"));
        }
        let n = b.get_u32() as usize;
        if b.remaining() < n {
            return Err(SpdyError::Malformed("header block"));
        }
        let s = String::from_utf8_lossy(&b[..n]).into_owned();
        b.advance(n);
        Ok(s)
    };
    if b.remaining() < 4 {
        return Err(SpdyError::Malformed("header block"));
    }
    let count = b.get_u32();
    let mut out = Vec::new();
    for _ in 0..count {
        let name = take(&mut b)?;
        let value = take(&mut b)?;
        out.push((name, value));
    }
    Ok(out)
}

/// A stream the client opened: its headers, and its data as it arrives (ending at FIN).
struct Opened {
    id: u32,
    headers: Vec<(String, String)>,
    data: mpsc::Receiver<Bytes>,
}

impl Opened {
    /// A header's value (names are lower-case on the wire).
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or("", |(_, v)| v.as_str())
    }
}

/// The writing half of a connection, shared by the tasks that write.
#[derive(Clone)]
struct Writer(Arc<tokio::sync::Mutex<WriterState>>);

struct WriterState {
    io: Box<dyn AsyncWrite + Send + Unpin>,
    deflater: Deflater,
}

impl Writer {
    async fn send(&self, frame: &[u8]) -> std::io::Result<()> {
        let mut w = self.0.lock().await;
        w.io.write_all(frame).await?;
        w.io.flush().await
    }

    async fn reply(&self, stream: u32) -> std::io::Result<()> {
        let mut w = self.0.lock().await;
        let block = w.deflater.block(&[]).map_err(std::io::Error::other)?;
        let mut payload = stream.to_be_bytes().to_vec();
        payload.extend_from_slice(&block);
        w.io.write_all(&control_frame(SYN_REPLY, 0, &payload))
            .await?;
        w.io.flush().await
    }

    /// Writes `data` on `stream` in frames of at most `MAX_DATA` bytes.
    async fn data(&self, stream: u32, data: &[u8]) -> std::io::Result<()> {
        for chunk in data.chunks(MAX_DATA) {
            self.send(&data_frame(stream, false, chunk)).await?;
        }
        Ok(())
    }

    async fn finish(&self, stream: u32) -> std::io::Result<()> {
        self.send(&data_frame(stream, true, &[])).await
    }

    async fn shutdown(&self) {
        let mut w = self.0.lock().await;
        // GOAWAY, last good stream 0, status OK (`GoAwayFrame`), then the end.
        let _ = w.io.write_all(&control_frame(GOAWAY, 0, &[0; 8])).await;
        let _ = w.io.shutdown().await;
    }
}

/// Reads frames until the connection ends: opened streams go to `opened` (each answered
/// with SYN_REPLY), data to its stream, pings back.
async fn read_loop(
    mut r: impl AsyncRead + Unpin,
    writer: Writer,
    opened: mpsc::UnboundedSender<Opened>,
) -> Result<(), SpdyError> {
    let mut inflater = Inflater::new();
    let mut streams: HashMap<u32, mpsc::Sender<Bytes>> = HashMap::new();
    loop {
        match read_frame(&mut r).await? {
            Frame::Control {
                kind,
                flags,
                payload,
            } => match kind {
                SYN_STREAM => {
                    if payload.len() < 10 {
                        return Err(SpdyError::Malformed("SYN_STREAM"));
                    }
                    let id = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]])
                        & 0x7fff_ffff;
                    let headers = inflater.block(&payload[10..])?;
                    // A write that fails (the connection is closing) leaves the rest to
                    // the reads, which end with it.
                    let _ = writer.reply(id).await;
                    let (tx, rx) = mpsc::channel(STREAM_BUFFER);
                    if flags & FLAG_FIN == 0 {
                        streams.insert(id, tx);
                    }
                    let _ = opened.send(Opened {
                        id,
                        headers,
                        data: rx,
                    });
                }
                RST_STREAM if payload.len() >= 4 => {
                    let id = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]])
                        & 0x7fff_ffff;
                    streams.remove(&id);
                }
                PING => {
                    let _ = writer.send(&control_frame(PING, 0, &payload)).await;
                }
                GOAWAY => return Ok(()),
                // SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do (no flow control).
                _ => {}
            },
            Frame::Data {
                stream,
                flags,
                data,
            } => {
                if !data.is_empty()
                    && let Some(tx) = streams.get(&stream)
                    && tx.send(data).await.is_err()
                {
                    // Nobody reads this stream: what comes on it is dropped.
                    streams.remove(&stream);
                }
                if flags & FLAG_FIN != 0 {
                    streams.remove(&stream);
                }
            }
        }
    }
}

/// Why an upgrade was refused; exec and port forwarding answer each in their own way.
enum Refusal {
    /// No `X-Stream-Protocol-Version`.
    NoProtocol,
    /// None of the client's protocols is the server's.
    Unnegotiated(String),
    /// Not a SPDY/3.1 upgrade (`UpgradeResponse` answers it with a 400).
    NotUpgrade(String),
}

/// `Handshake`'s 403: the protocols the server accepts, one header each.
fn with_accepted(mut r: Response<Body>, protocols: &[&str]) -> Response<Body> {
    for p in protocols {
        if let Ok(v) = http::HeaderValue::from_str(p) {
            r.headers_mut()
                .append("X-Accepted-Stream-Protocol-Versions", v);
        }
    }
    r
}

/// Negotiates the protocol, then checks that SPDY/3.1 is asked for
/// (`k8s.io/apimachinery/pkg/util/httpstream/httpstream.go`, `Handshake`, which takes the
/// first of the client's protocols the server has; then `spdy/upgrade.go`,
/// `UpgradeResponse`, which reads the first `Connection` and `Upgrade` values).
fn handshake(
    headers: &http::HeaderMap,
    protocols: &[&'static str],
) -> Result<&'static str, Refusal> {
    let offered: Vec<&str> = headers
        .get_all("x-stream-protocol-version")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim_matches(' '))
        .filter(|v| !v.is_empty())
        .collect();
    if offered.is_empty() {
        return Err(Refusal::NoProtocol);
    }
    let Some(protocol) = offered
        .iter()
        .find_map(|o| protocols.iter().find(|p| *p == o).copied())
    else {
        return Err(Refusal::Unnegotiated(format!(
            "unable to upgrade: unable to negotiate protocol: client supports [{}], server accepts [{}]",
            offered.join(" "),
            protocols.join(" ")
        )));
    };
    let first = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    if !first("connection").contains("upgrade") || !first("upgrade").contains("spdy/3.1") {
        return Err(Refusal::NotUpgrade(format!(
            "unable to upgrade: missing upgrade headers in request: {}",
            go_header_map(headers)
        )));
    }
    Ok(protocol)
}

/// A request's headers as Go's `%#v` prints an `http.Header`: canonical names, sorted, each
/// with its values (Go's server keeps `Host` apart).
fn go_header_map(headers: &http::HeaderMap) -> String {
    let canonical = |name: &str| {
        name.split('-')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("-")
    };
    let mut map: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (name, value) in headers.iter().filter(|(n, _)| n.as_str() != "host") {
        map.entry(canonical(name.as_str()))
            .or_default()
            .push(format!("{:?}", String::from_utf8_lossy(value.as_bytes())));
    }
    let entries: Vec<String> = map
        .into_iter()
        .map(|(k, v)| format!("{k:?}:[]string{{{}}}", v.join(", ")))
        .collect();
    format!("http.Header{{{}}}", entries.join(", "))
}

fn switching(protocol: &str) -> Response<Body> {
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("Connection", "Upgrade")
        .header("Upgrade", "SPDY/3.1")
        .header("X-Stream-Protocol-Version", protocol)
        .body(BodyExt::boxed_unsync(Empty::new()))
        .unwrap_or_else(|_| text(StatusCode::INTERNAL_SERVER_ERROR, "response"))
}

/// Answers 101 with `protocol` and hands the upgraded connection to `serve`, on a task
/// that ends with it or when `stop` is signalled.
fn upgrade<F, Fut>(
    req: Request<Incoming>,
    protocol: &str,
    stop: tokio::sync::watch::Receiver<bool>,
    serve: F,
) -> Response<Body>
where
    F: FnOnce(Connection) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(crate::until(stop, async move {
        let Ok(upgraded) = hyper::upgrade::on(req).await else {
            return;
        };
        match Connection::start(hyper_util::rt::TokioIo::new(upgraded)) {
            Ok(conn) => serve(conn).await,
            Err(e) => tracing::debug!(error = %e, "SPDY connection"),
        }
    }));
    switching(protocol)
}

/// `/exec`: answers 101 and runs the command over the upgraded connection, until it ends
/// or `stop` is signalled. A refused handshake is answered as `createHTTPStreamStreams`
/// answers it.
pub(crate) fn exec(
    req: Request<Incoming>,
    kubelet: Arc<Kubelet>,
    exec: Remote,
    options: StreamOptions,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Response<Body> {
    let protocol = match handshake(req.headers(), &[V4]) {
        Ok(p) => p,
        Err(Refusal::NoProtocol) => {
            return http_error(
                StatusCode::BAD_REQUEST,
                "unable to upgrade: X-Stream-Protocol-Version is required",
            );
        }
        // `Handshake` writes the 403, then the caller's `http.Error` adds the same
        // message to its body.
        Err(Refusal::Unnegotiated(m)) => {
            return with_accepted(
                http_error(StatusCode::FORBIDDEN, &format!("{m}\n{m}")),
                &[V4],
            );
        }
        Err(Refusal::NotUpgrade(m)) => return http_error(StatusCode::BAD_REQUEST, &m),
    };
    upgrade(req, protocol, stop, move |conn| async move {
        if let Err(e) = serve_exec(conn, kubelet, exec, options).await {
            tracing::debug!(error = %e, "exec stream ended");
        }
    })
}

/// The streams of one exec, once all have been opened.
#[derive(Default)]
struct ExecStreams {
    error: Option<u32>,
    stdin: Option<mpsc::Receiver<Bytes>>,
    stdout: Option<u32>,
    stderr: Option<u32>,
    resize: Option<mpsc::Receiver<Bytes>>,
}

/// A connection after the upgrade: its writer, the streams the client opens, and the task
/// reading it (stopped when this is dropped).
struct Connection {
    writer: Writer,
    opened: mpsc::UnboundedReceiver<Opened>,
    /// Ends when the client's side of the connection does.
    reader: crate::AbortOnDrop,
}

impl Connection {
    fn start(io: impl AsyncRead + AsyncWrite + Send + 'static) -> Result<Connection, String> {
        let (r, w) = tokio::io::split(io);
        let writer = Writer(Arc::new(tokio::sync::Mutex::new(WriterState {
            io: Box::new(w),
            deflater: Deflater::new()?,
        })));
        let (opened_tx, opened) = mpsc::unbounded_channel();
        let reading = read_loop(r, writer.clone(), opened_tx);
        let reader = crate::AbortOnDrop(tokio::spawn(async move {
            if let Err(e) = reading.await {
                tracing::debug!(error = %e, "SPDY connection");
            }
        }));
        Ok(Connection {
            writer,
            opened,
            reader,
        })
    }

    /// Says goodbye (GOAWAY, then the end of this side), then reads on until the client
    /// closes its side too, for at most `DRAIN`.
    async fn close(self) {
        let Connection {
            writer,
            opened,
            mut reader,
        } = self;
        drop(opened);
        writer.shutdown().await;
        let _ = tokio::time::timeout(DRAIN, &mut reader.0).await;
    }
}

async fn serve_exec(
    mut conn: Connection,
    kubelet: Arc<Kubelet>,
    exec: Remote,
    options: StreamOptions,
) -> Result<(), String> {
    let streams = match tokio::time::timeout(
        STREAM_CREATION_TIMEOUT,
        wait_for_streams(&mut conn.opened, options),
    )
    .await
    {
        Ok(Ok(streams)) => streams,
        Ok(Err(e)) => {
            conn.close().await;
            return Err(e);
        }
        Err(_) => {
            conn.close().await;
            return Err("timed out waiting for client to create streams".into());
        }
    };
    // `ServeExec` and `ServeAttach` (`remotecommand/exec.go`, `attach.go`) word a failure
    // each their own way; an attach that ends is a success.
    let command = exec.command().to_vec();
    let failed = match &exec {
        Remote::Exec(_) => "error executing command in container",
        Remote::Attach(_) => "error attaching to container",
    };
    let error_stream = streams.error;
    let status = tokio::select! {
        status = execute(&kubelet, exec, &conn.writer, streams) => status,
        // The client went away: the command's session is dropped, which kills it.
        _ = &mut conn.reader.0 => None,
    };
    if let (Some(id), Some(status)) = (error_stream, status) {
        let status = match status {
            Ok(code) => apiserver::runtime::exit_status_json(code, false, &command),
            Err(e) => apiserver::runtime::internal_error_json(&format!("{failed}: {e}")),
        };
        let _ = conn.writer.data(id, status.as_bytes()).await;
        let _ = conn.writer.finish(id).await;
    }
    conn.close().await;
    Ok(())
}

/// Waits for the streams `options` asks for, each type once; a stream of another type, or
/// of a type already opened, is left unread, as upstream ignores it
/// (`remotecommand/httpstream.go`, `waitForStreams`).
async fn wait_for_streams(
    opened: &mut mpsc::UnboundedReceiver<Opened>,
    options: StreamOptions,
) -> Result<ExecStreams, String> {
    let mut streams = ExecStreams::default();
    let mut received = 0;
    while received < options.expected() {
        let Some(s) = opened.recv().await else {
            return Err("the connection closed before its streams were opened".to_string());
        };
        let fresh = match s.header("streamtype") {
            "error" => streams.error.replace(s.id).is_none(),
            "stdin" if options.stdin => streams.stdin.replace(s.data).is_none(),
            "stdout" if options.stdout => streams.stdout.replace(s.id).is_none(),
            "stderr" if options.stderr => streams.stderr.replace(s.id).is_none(),
            "resize" if options.tty => streams.resize.replace(s.data).is_none(),
            other => {
                tracing::debug!(stream = other, "ignoring an unexpected exec stream");
                false
            }
        };
        received += usize::from(fresh);
    }
    Ok(streams)
}

/// Runs the command with its streams; its exit code, or why it could not run.
async fn execute(
    kubelet: &Kubelet,
    exec: Remote,
    writer: &Writer,
    mut streams: ExecStreams,
) -> Option<Result<i32, String>> {
    Some(match exec.start(kubelet).await {
        Ok(session) => run(session, writer, &mut streams).await,
        Err(e) => Err(e.0),
    })
}

/// Copies the session's streams until its output ends and it exits; its exit code.
async fn run(
    session: ExecSession,
    writer: &Writer,
    streams: &mut ExecStreams,
) -> Result<i32, String> {
    if let (Some(mut input), Some(mut stdin)) = (streams.stdin.take(), session.stdin) {
        tokio::spawn(async move {
            while let Some(chunk) = input.recv().await {
                if stdin.write_all(&chunk).await.is_err() {
                    return;
                }
                let _ = stdin.flush().await;
            }
            let _ = stdin.shutdown().await;
        });
    }
    if let (Some(mut resize), Some(sizes)) = (streams.resize.take(), session.resize) {
        tokio::spawn(async move {
            // `{"Width":80,"Height":24}` objects, one after another
            // (`remotecommand.TerminalSize`, read with a JSON decoder).
            let mut pending = Vec::new();
            while let Some(chunk) = resize.recv().await {
                pending.extend_from_slice(&chunk);
                let mut objects =
                    serde_json::Deserializer::from_slice(&pending).into_iter::<serde_json::Value>();
                let mut used = 0;
                loop {
                    match objects.next() {
                        Some(Ok(v)) => {
                            used = objects.byte_offset();
                            let dim = |k: &str| v.get(k).and_then(serde_json::Value::as_u64);
                            if let (Some(w), Some(h)) = (dim("Width"), dim("Height")) {
                                let _ = sizes.send((w as u16, h as u16));
                            }
                        }
                        // An object not yet whole waits for the next chunk.
                        None => break,
                        Some(Err(e)) if e.is_eof() => break,
                        // Upstream stops reading sizes at the first bad one.
                        Some(Err(_)) => return,
                    }
                }
                pending.drain(..used);
            }
        });
    }
    let copy = |from: Option<std::pin::Pin<Box<dyn AsyncRead + Send>>>, to: Option<u32>| {
        let writer = writer.clone();
        async move {
            let (Some(mut from), Some(id)) = (from, to) else {
                return;
            };
            let mut buf = vec![0u8; MAX_DATA];
            while let Ok(n) = from.read(&mut buf).await {
                if n == 0 || writer.data(id, &buf[..n]).await.is_err() {
                    break;
                }
            }
            let _ = writer.finish(id).await;
        }
    };
    let (code, (), ()) = tokio::join!(
        session.exit,
        copy(session.stdout, streams.stdout),
        copy(session.stderr, streams.stderr)
    );
    code
}

/// The port-forwarding protocol (`k8s.io/kubelet/pkg/cri/streaming/portforward`).
const PORT_FORWARD: &str = "portforward.k8s.io";

/// `/portForward`: answers 101, then forwards each pair of streams the client opens — an
/// error and a data stream with the same `requestID` and `port` — to that port on the
/// pod's loopback, as `portforward/httpstream.go` does (`requestStreams`,
/// `portForward`), until the client closes the connection or `stop` is signalled.
pub(crate) fn port_forward(
    req: Request<Incoming>,
    kubelet: Arc<Kubelet>,
    ns: &str,
    pod: &str,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Response<Body> {
    if kubelet.target(ns, pod).is_none() {
        return pod_not_found(None);
    }
    let protocol = match handshake(req.headers(), &[PORT_FORWARD]) {
        Ok(p) => p,
        // `handleHTTPStreams` returns `Handshake`'s error unwritten: Go's empty 200.
        Err(Refusal::NoProtocol) => return Response::new(BodyExt::boxed_unsync(Empty::new())),
        Err(Refusal::Unnegotiated(m)) => {
            return with_accepted(http_error(StatusCode::FORBIDDEN, &m), &[PORT_FORWARD]);
        }
        Err(Refusal::NotUpgrade(m)) => return http_error(StatusCode::BAD_REQUEST, &m),
    };
    let (ns, pod) = (ns.to_string(), pod.to_string());
    upgrade(req, protocol, stop, move |mut conn| async move {
        // Each pair forwards on its own; all end with the connection.
        let mut pairs = tokio::task::JoinSet::new();
        let mut pending: HashMap<String, Pair> = HashMap::new();
        while let Some(stream) = conn.opened.recv().await {
            while pairs.try_join_next().is_some() {}
            pending.retain(|_, p| p.since.elapsed() < STREAM_CREATION_TIMEOUT);
            let kind = stream.header("streamtype").to_string();
            if kind != "error" && kind != "data" {
                let _ = conn.writer.finish(stream.id).await;
                continue;
            }
            let request = stream.header("requestid").to_string();
            let pair = pending.entry(request.clone()).or_insert_with(|| Pair {
                error: None,
                data: None,
                since: std::time::Instant::now(),
            });
            let slot = if kind == "error" {
                &mut pair.error
            } else {
                &mut pair.data
            };
            if slot.is_some() {
                // One of each per request (`portforward/httpstream.go`: "... stream
                // already assigned"): the second is closed unread.
                let _ = conn.writer.finish(stream.id).await;
                continue;
            }
            *slot = Some(stream);
            let complete = pair.error.is_some() && pair.data.is_some();
            if complete
                && let Some(Pair {
                    error: Some(error),
                    data: Some(data),
                    ..
                }) = pending.remove(&request)
            {
                let target = kubelet.target(&ns, &pod);
                let writer = conn.writer.clone();
                let name = format!("{pod}_{ns}");
                pairs.spawn(async move { forward(writer, target, &name, error, data).await });
            }
        }
        pairs.shutdown().await;
        conn.close().await;
    })
}

/// The two streams of one forwarded connection, as they arrive.
struct Pair {
    error: Option<Opened>,
    data: Option<Opened>,
    since: std::time::Instant,
}

/// Forwards one pair of streams to its port in the pod; a failure is written on the error
/// stream as `portForward` words it.
async fn forward(
    writer: Writer,
    target: Option<crate::ExecTarget>,
    pod: &str,
    error: Opened,
    data: Opened,
) {
    let port = data.header("port").to_string();
    let (error_id, data_id) = (error.id, data.id);
    let outcome = match &target {
        Some(target) => pipe(&writer, target, &port, data).await,
        None => Err("the pod is no longer running".into()),
    };
    if let Err(why) = outcome {
        let uid = target.as_ref().map_or("", |t| t.uid.as_str());
        let message = format!("error forwarding port {port} to pod {pod}, uid {uid}: {why}");
        let _ = writer.data(error_id, message.as_bytes()).await;
    }
    let _ = writer.finish(data_id).await;
    let _ = writer.finish(error_id).await;
}

/// Copies the data stream to a connection to `port` in the pod and back. When either side
/// ends, the other has a second to finish, as containerd's port forward gives it
/// (`sandbox_portforward_linux.go`); then the connection is closed. Why it could not be
/// made, when it was not.
async fn pipe(
    writer: &Writer,
    target: &crate::ExecTarget,
    port: &str,
    data: Opened,
) -> Result<(), String> {
    let number = port
        .parse::<u16>()
        .map_err(|_| format!("invalid port {port:?}"))?;
    let cmd = target.sandbox.connect(number).map_err(|e| e.to_string())?;
    let mut child = crate::spawn_connection(cmd).map_err(|e| e.to_string())?;
    let (Some(mut stdin), Some(mut stdout), Some(mut stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err("the connection's pipes are missing".into());
    };
    let mut incoming = data.data;
    let to_pod = async move {
        while let Some(chunk) = incoming.recv().await {
            if stdin.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = stdin.shutdown().await;
    };
    let from_pod = async move {
        let mut buf = vec![0u8; MAX_DATA];
        while let Ok(n) = stdout.read(&mut buf).await {
            if n == 0 || writer.data(data.id, &buf[..n]).await.is_err() {
                break;
            }
        }
    };
    tokio::pin!(to_pod, from_pod);
    tokio::select! {
        () = &mut from_pod => {}
        () = &mut to_pod => {
            let _ = tokio::time::timeout(Duration::from_secs(1), &mut from_pod).await;
        }
    }
    let exited = tokio::time::timeout(Duration::from_millis(100), child.wait()).await;
    let status = match exited {
        Ok(status) => status.ok(),
        Err(_) => {
            let _ = child.start_kill();
            None
        }
    };
    if status.is_some_and(|s| s.success()) || status.is_none() {
        return Ok(());
    }
    let mut why = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(1), stderr.read_to_string(&mut why)).await;
    Err(podbox::failure(&why).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, http::HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_handshake_takes_the_clients_first_protocol_the_server_has() {
        let upgrade = [("connection", "Upgrade"), ("upgrade", "SPDY/3.1")];
        let mut offered = headers(&upgrade);
        offered.append(
            "x-stream-protocol-version",
            http::HeaderValue::from_static("v5.channel.k8s.io, v4.channel.k8s.io"),
        );
        offered.append(
            "x-stream-protocol-version",
            http::HeaderValue::from_static("v3.channel.k8s.io"),
        );
        assert!(matches!(handshake(&offered, &[V4]), Ok(V4)));
        let mut old = headers(&upgrade);
        old.append(
            "x-stream-protocol-version",
            http::HeaderValue::from_static("v2.channel.k8s.io,v1.channel.k8s.io"),
        );
        match handshake(&old, &[V4]) {
            Err(Refusal::Unnegotiated(m)) => assert_eq!(
                m,
                "unable to upgrade: unable to negotiate protocol: client supports [v2.channel.k8s.io v1.channel.k8s.io], server accepts [v4.channel.k8s.io]"
            ),
            _ => panic!("negotiated"),
        }
        assert!(matches!(
            handshake(&headers(&upgrade), &[V4]),
            Err(Refusal::NoProtocol)
        ));
    }

    #[test]
    fn a_request_that_is_no_upgrade_is_refused_with_its_headers_as_go_prints_them() {
        let h = headers(&[
            ("x-stream-protocol-version", "v4.channel.k8s.io"),
            ("host", "node:10250"),
            ("accept-encoding", "gzip"),
            ("accept-encoding", "br"),
        ]);
        match handshake(&h, &[V4]) {
            Err(Refusal::NotUpgrade(m)) => assert_eq!(
                m,
                r#"unable to upgrade: missing upgrade headers in request: http.Header{"Accept-Encoding":[]string{"gzip", "br"}, "X-Stream-Protocol-Version":[]string{"v4.channel.k8s.io"}}"#
            ),
            _ => panic!("upgraded"),
        }
    }

    #[test]
    fn the_dictionary_is_spdy3s() {
        let d = dictionary();
        assert_eq!(d.len(), 1423);
        // zlib names a preset dictionary by its Adler-32 in the stream header.
        let mut c = Compress::new(Compression::best(), true);
        let adler = c.set_dictionary(d).expect("dictionary");
        assert_eq!(adler, 0xe3c6_a7c2);
    }

    #[test]
    fn header_blocks_round_trip_through_one_stream_per_direction() {
        let mut out = Deflater::new().expect("deflater");
        let mut inn = Inflater::new();
        for round in 0..3 {
            let value = format!("stdout-{round}");
            let block = out
                .block(&[("streamType", &value), ("port", "80")])
                .expect("block");
            let headers = inn.block(&block).expect("inflate");
            assert_eq!(
                headers,
                vec![
                    ("streamtype".to_string(), value),
                    ("port".to_string(), "80".to_string())
                ]
            );
        }
    }

    #[tokio::test]
    async fn frames_are_read_as_written() {
        let mut bytes = data_frame(5, true, b"hi").to_vec();
        bytes.extend_from_slice(&control_frame(PING, 0, &[0, 0, 0, 1]));
        let mut r: &[u8] = &bytes;
        assert_eq!(
            read_frame(&mut r).await.expect("data"),
            Frame::Data {
                stream: 5,
                flags: FLAG_FIN,
                data: Bytes::from_static(b"hi")
            }
        );
        assert_eq!(
            read_frame(&mut r).await.expect("ping"),
            Frame::Control {
                kind: PING,
                flags: 0,
                payload: Bytes::from_static(&[0, 0, 0, 1])
            }
        );
    }
}
