//! How the API reaches the loop: closures sent over a bounded channel and
//! run on the engine, so the core is never shared across tasks.

use tokio::sync::{mpsc, oneshot};

use super::Engine;

/// A job the API runs on the engine.
pub type Job = Box<dyn FnOnce(&mut Engine) + Send>;

/// A handle to a running engine.
#[derive(Clone)]
pub struct Client {
    jobs: mpsc::Sender<Job>,
}

/// The engine stopped.
#[derive(Debug, thiserror::Error)]
#[error("the node is shutting down")]
pub struct Stopped;

impl Client {
    /// Runs `f` on the engine and returns its result.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Engine) -> T + Send + 'static,
    ) -> Result<T, Stopped> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |engine| {
            let _ = tx.send(f(engine));
        });
        self.jobs.send(job).await.map_err(|_| Stopped)?;
        rx.await.map_err(|_| Stopped)
    }
}

/// Starts the engine's job channel.
pub fn channel() -> (Client, mpsc::Receiver<Job>) {
    let (tx, rx) = mpsc::channel(256);
    (Client { jobs: tx }, rx)
}
