//! A fault-injection proxy for tests: a TCP listener on loopback that forwards every
//! connection to a PostgreSQL server (over TCP on loopback, or a unix socket) and can, on
//! command, cut every connection, cut a connection when the client sends given bytes (a
//! `COMMIT`, COPY data), or stall the server's replies.
//!
//! It sends traffic only to loopback or unix sockets, and its tasks end with the proxy.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Where the proxy connects.
#[derive(Debug, Clone)]
enum Upstream {
    Tcp(String),
    Unix(std::path::PathBuf),
}

#[derive(Debug, Default)]
struct Control {
    /// Bumped to cut every open connection.
    cuts: AtomicU64,
    /// While set, the server's replies are held back.
    stalled: AtomicBool,
    /// Cut a connection as soon as the client sends these bytes (before forwarding them).
    cut_on: Mutex<Option<Vec<u8>>>,
    /// Cut a connection right after forwarding these bytes from the client (so the server
    /// acts on them and the client never hears back).
    cut_after: Mutex<Option<Vec<u8>>>,
    /// Connections cut by a pattern.
    pattern_cuts: AtomicU64,
}

/// A running proxy; dropped, it stops accepting and cuts every connection.
pub struct FaultProxy {
    port: u16,
    control: Arc<Control>,
    cut_tx: watch::Sender<u64>,
    accept: JoinHandle<()>,
    database_url: String,
}

impl FaultProxy {
    /// A proxy in front of the server `url` points at (host and port, or the socket
    /// directory in `host=`); `url(…)` gives the URL that goes through the proxy.
    pub async fn start(url: &str) -> anyhow::Result<FaultProxy> {
        let parsed = url::Url::parse(url)?;
        let upstream = match parsed.query_pairs().find(|(k, _)| k == "host") {
            Some((_, dir)) if dir.starts_with('/') => {
                let port = parsed.port().unwrap_or(5432);
                Upstream::Unix(std::path::Path::new(&*dir).join(format!(".s.PGSQL.{port}")))
            }
            _ => {
                let host = parsed.host_str().unwrap_or("127.0.0.1");
                anyhow::ensure!(
                    matches!(host, "127.0.0.1" | "localhost" | "::1" | "[::1]"),
                    "the fault proxy only forwards to loopback, not {host}"
                );
                Upstream::Tcp(format!("{host}:{}", parsed.port().unwrap_or(5432)))
            }
        };
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let control = Arc::new(Control::default());
        let (cut_tx, cut_rx) = watch::channel(0);
        let accept = {
            let control = Arc::clone(&control);
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    let (upstream, control, cuts) =
                        (upstream.clone(), Arc::clone(&control), cut_rx.clone());
                    tokio::spawn(async move {
                        let _ = relay(client, upstream, control, cuts).await;
                    });
                }
            })
        };
        // The same database, user and options, through the proxy, without TLS.
        let mut through = parsed.clone();
        let query: Vec<(String, String)> = parsed
            .query_pairs()
            .filter(|(k, _)| k != "host" && k != "port" && k != "sslmode")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            // In the clear: the fault tests cut the protocol at byte patterns they must see
            // (under `prefer` a TLS-enabled upstream would encrypt them).
            .chain([("sslmode".to_owned(), "disable".to_owned())])
            .collect();
        through.set_query(None);
        through.query_pairs_mut().extend_pairs(query);
        through
            .set_host(Some("127.0.0.1"))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        through
            .set_port(Some(port))
            .map_err(|()| anyhow::anyhow!("cannot set the port"))?;
        if through.username().is_empty() {
            let _ = through.set_username("postgres");
        }
        Ok(FaultProxy {
            port,
            control,
            cut_tx,
            accept,
            database_url: through.to_string(),
        })
    }

    /// The URL of the same database through the proxy.
    pub fn url(&self) -> &str {
        &self.database_url
    }

    /// The proxy's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Cuts every open connection now (new ones are still accepted).
    pub fn cut_all(&self) {
        let n = self.control.cuts.fetch_add(1, Ordering::SeqCst) + 1;
        let _ = self.cut_tx.send(n);
    }

    /// Cuts the connection whose client next sends `bytes`, before the server sees them.
    pub fn cut_when_client_sends(&self, bytes: &[u8]) {
        *self.control.cut_on.lock().unwrap() = Some(bytes.to_vec());
    }

    /// Cuts the connection whose client next sends `bytes`, right after forwarding them:
    /// the server acts on them, the client never hears the answer.
    pub fn cut_after_client_sends(&self, bytes: &[u8]) {
        *self.control.cut_after.lock().unwrap() = Some(bytes.to_vec());
    }

    /// How many connections a pattern has cut.
    pub fn pattern_cuts(&self) -> u64 {
        self.control.pattern_cuts.load(Ordering::SeqCst)
    }

    /// Holds back (or lets through again) every reply of the server.
    pub fn stall(&self, on: bool) {
        self.control.stalled.store(on, Ordering::SeqCst);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut_all();
    }
}

async fn relay(
    client: TcpStream,
    upstream: Upstream,
    control: Arc<Control>,
    mut cuts: watch::Receiver<u64>,
) -> anyhow::Result<()> {
    client.set_nodelay(true)?;
    let seen = *cuts.borrow();
    let (client_read, client_write) = client.into_split();
    match upstream {
        Upstream::Tcp(addr) => {
            let server = TcpStream::connect(addr).await?;
            server.set_nodelay(true)?;
            let (server_read, server_write) = server.into_split();
            pump_both(
                (client_read, client_write),
                (server_read, server_write),
                control,
                &mut cuts,
                seen,
            )
            .await
        }
        Upstream::Unix(path) => {
            let server = UnixStream::connect(path).await?;
            let (server_read, server_write) = server.into_split();
            pump_both(
                (client_read, client_write),
                (server_read, server_write),
                control,
                &mut cuts,
                seen,
            )
            .await
        }
    }
}

async fn pump_both<CR, CW, SR, SW>(
    (client_read, client_write): (CR, CW),
    (server_read, server_write): (SR, SW),
    control: Arc<Control>,
    cuts: &mut watch::Receiver<u64>,
    seen: u64,
) -> anyhow::Result<()>
where
    CR: AsyncRead + Unpin,
    CW: AsyncWrite + Unpin,
    SR: AsyncRead + Unpin,
    SW: AsyncWrite + Unpin,
{
    // Set when this connection is about to be cut after the client's last bytes: the
    // server's answer to them must not reach the client.
    let frozen = Arc::new(AtomicBool::new(false));
    let upstream = client_to_server(
        client_read,
        server_write,
        Arc::clone(&control),
        Arc::clone(&frozen),
    );
    let downstream = server_to_client(server_read, client_write, Arc::clone(&control), frozen);
    let cut = async {
        loop {
            if *cuts.borrow_and_update() != seen {
                return;
            }
            if cuts.changed().await.is_err() {
                return;
            }
        }
    };
    // Whichever ends first ends the connection: both sockets are dropped, which closes them.
    tokio::select! {
        _ = upstream => {}
        _ = downstream => {}
        () = cut => {}
    }
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

async fn client_to_server(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    control: Arc<Control>,
    frozen: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    // The end of the previous read, so a pattern split across two reads is still seen.
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        let mut window = std::mem::take(&mut tail);
        window.extend_from_slice(&buf[..n]);
        let before = control.cut_on.lock().unwrap().clone();
        if let Some(pattern) = before.filter(|p| find(&window, p)) {
            *control.cut_on.lock().unwrap() = None;
            control.pattern_cuts.fetch_add(1, Ordering::SeqCst);
            let _ = pattern;
            anyhow::bail!("cut before forwarding");
        }
        let after = control.cut_after.lock().unwrap().clone();
        let cut_after = after.is_some_and(|p| find(&window, &p));
        if cut_after {
            frozen.store(true, Ordering::SeqCst);
        }
        to.write_all(&buf[..n]).await?;
        to.flush().await?;
        if cut_after {
            *control.cut_after.lock().unwrap() = None;
            control.pattern_cuts.fetch_add(1, Ordering::SeqCst);
            // Give the server the time to act on what it was sent.
            tokio::time::sleep(Duration::from_millis(200)).await;
            anyhow::bail!("cut after forwarding");
        }
        let keep = window.len().min(64);
        tail = window[window.len() - keep..].to_vec();
    }
}

async fn server_to_client(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    control: Arc<Control>,
    frozen: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        if frozen.load(Ordering::SeqCst) {
            continue;
        }
        while control.stalled.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        to.write_all(&buf[..n]).await?;
        to.flush().await?;
    }
}
