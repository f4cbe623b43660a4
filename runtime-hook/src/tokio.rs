//! Async `Mutex` and `RwLock` wrapping `tokio::sync` (feature `tokio`).
//!
//! Holders and waiters are tasks. A task can move between threads and a
//! guard can be dropped on another thread than the one that acquired it,
//! so these locks are not in the per-thread held stacks: they report
//! contended waits (the holder being the lock's last acquirer, with the
//! thread that polled it), stalls of waiting tasks, counters and sampled
//! hold times, but no lock-order edges and no wait-for cycles.
//!
//! `lock()`/`read()`/`write()` are `#[track_caller]` functions returning a
//! future, so the recorded site is the line that calls them. Also wrapped:
//! `try_lock`/`try_read`/`try_write`, `blocking_lock`/`blocking_read`/
//! `blocking_write`, and `Mutex::lock_owned`/`try_lock_owned` (for
//! `T: 'static`). Not wrapped: guard `map`, owned RwLock guards.

use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::Arc;

use ::tokio::sync as ts;
pub use ::tokio::sync::TryLockError;

use crate::rt::{self, HeldToken, LockMeta};
use crate::wire::{Kind, Mode};

type Site = &'static Location<'static>;

macro_rules! async_guard {
    ($guard:ident, $lock:ident, $inner:ident, $mode:expr, $($mut:ident)?) => {
        impl<T: ?Sized> Drop for $guard<'_, T> {
            #[inline]
            fn drop(&mut self) {
                // SAFETY: dropped exactly once, here.
                unsafe { ManuallyDrop::drop(&mut self.inner) }
                if self.held != 0 {
                    rt::async_released(&self.lock.meta, $mode, self.site, self.held);
                }
            }
        }
        impl<T: ?Sized> Deref for $guard<'_, T> {
            type Target = T;
            #[inline]
            fn deref(&self) -> &T {
                &self.inner
            }
        }
        $(
        impl<T: ?Sized> DerefMut for $guard<'_, T> {
            #[inline]
            fn $mut(&mut self) -> &mut T {
                &mut self.inner
            }
        }
        )?
        impl<T: ?Sized + fmt::Debug> fmt::Debug for $guard<'_, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&**self, f)
            }
        }
        impl<T: ?Sized + fmt::Display> fmt::Display for $guard<'_, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                (**self).fmt(f)
            }
        }
    };
}

/// Shared logic: try first, then wait as a registered task.
async fn acquire<G, F>(
    meta: &LockMeta,
    mode: Mode,
    site: Site,
    try_: impl FnOnce() -> Option<G>,
    wait: impl FnOnce() -> F,
) -> (G, HeldToken)
where
    F: Future<Output = G>,
{
    if !rt::enabled() {
        return (wait().await, 0);
    }
    if let Some(g) = try_() {
        return (g, rt::async_acquired(meta, mode, site, None));
    }
    let w = rt::async_begin_wait(meta, mode, site);
    let g = wait().await;
    let waited = w.as_ref().map(|w| w.waited_ns());
    drop(w);
    (g, rt::async_acquired(meta, mode, site, waited))
}

/// Blocking acquisition from synchronous code (`blocking_lock` & co.).
fn acquire_blocking<G>(meta: &LockMeta, mode: Mode, site: Site, try_: impl FnOnce() -> Option<G>, block: impl FnOnce() -> G) -> (G, HeldToken) {
    if !rt::enabled() {
        return (block(), 0);
    }
    if let Some(g) = try_() {
        return (g, rt::async_acquired(meta, mode, site, None));
    }
    let w = rt::async_begin_wait(meta, mode, site);
    let g = block();
    let waited = w.as_ref().map(|w| w.waited_ns());
    drop(w);
    (g, rt::async_acquired(meta, mode, site, waited))
}

fn try_acquire<G>(meta: &LockMeta, mode: Mode, site: Site, r: Result<G, TryLockError>) -> Result<(G, HeldToken), TryLockError> {
    if !rt::enabled() {
        return r.map(|g| (g, 0));
    }
    match r {
        Ok(g) => Ok((g, rt::async_acquired(meta, mode, site, None))),
        Err(e) => {
            rt::async_try_failed(meta, mode, site);
            Err(e)
        }
    }
}

// ---------------------------------------------------------------------------
// Mutex

/// `tokio::sync::Mutex` with LockLens tracking.
pub struct Mutex<T: ?Sized> {
    meta: LockMeta,
    inner: ts::Mutex<T>,
}

/// Guard of an async [`Mutex`].
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    lock: &'a Mutex<T>,
    inner: ManuallyDrop<ts::MutexGuard<'a, T>>,
    held: HeldToken,
    site: Site,
}

async_guard!(MutexGuard, Mutex, inner, Mode::Mutex, deref_mut);

impl<T> Mutex<T> {
    /// Creates an unlocked mutex whose class is the caller's location.
    #[track_caller]
    pub fn new(t: T) -> Mutex<T> {
        Mutex { meta: LockMeta::new(Location::caller(), None, Kind::TokioMutex), inner: ts::Mutex::new(t) }
    }

    /// Creates an unlocked mutex of the named class `name`.
    #[track_caller]
    pub fn named(name: &'static str, t: T) -> Mutex<T> {
        Mutex { meta: LockMeta::new(Location::caller(), Some(name), Kind::TokioMutex), inner: ts::Mutex::new(t) }
    }

    /// Consumes the mutex, returning the data.
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex; the future resolves when the task holds it.
    #[track_caller]
    pub fn lock(&self) -> impl Future<Output = MutexGuard<'_, T>> + '_ {
        let site = Location::caller();
        async move {
            let (g, held) =
                acquire(&self.meta, Mode::Mutex, site, || self.inner.try_lock().ok(), || self.inner.lock()).await;
            MutexGuard { lock: self, inner: ManuallyDrop::new(g), held, site }
        }
    }

    /// Locks from synchronous code (panics inside an async runtime, as
    /// tokio's does).
    #[track_caller]
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        let site = Location::caller();
        let (g, held) =
            acquire_blocking(&self.meta, Mode::Mutex, site, || self.inner.try_lock().ok(), || self.inner.blocking_lock());
        MutexGuard { lock: self, inner: ManuallyDrop::new(g), held, site }
    }

    /// Locks an `Arc`-shared mutex; the guard owns a clone of the `Arc`
    /// (it can be moved into a spawned task).
    #[track_caller]
    pub fn lock_owned(self: Arc<Self>) -> impl Future<Output = OwnedMutexGuard<T>>
    where
        T: 'static,
    {
        let site = Location::caller();
        async move {
            let (g, held) =
                acquire(&self.meta, Mode::Mutex, site, || self.inner.try_lock().ok(), || self.inner.lock()).await;
            // SAFETY: the guard borrows the mutex inside the Arc that the
            // owned guard keeps, so the mutex outlives it and does not move;
            // OwnedMutexGuard drops the guard before the Arc.
            let g: ts::MutexGuard<'static, T> = unsafe { std::mem::transmute(g) };
            OwnedMutexGuard { inner: ManuallyDrop::new(g), lock: self, held, site }
        }
    }

    /// Attempts to lock an `Arc`-shared mutex without waiting.
    #[track_caller]
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError>
    where
        T: 'static,
    {
        let site = Location::caller();
        let (g, held) = try_acquire(&self.meta, Mode::Mutex, site, self.inner.try_lock())?;
        // SAFETY: as in `lock_owned`.
        let g: ts::MutexGuard<'static, T> = unsafe { std::mem::transmute(g) };
        Ok(OwnedMutexGuard { inner: ManuallyDrop::new(g), lock: self, held, site })
    }

    /// Attempts to lock without waiting.
    #[track_caller]
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        let site = Location::caller();
        let (g, held) = try_acquire(&self.meta, Mode::Mutex, site, self.inner.try_lock())?;
        Ok(MutexGuard { lock: self, inner: ManuallyDrop::new(g), held, site })
    }

    /// Mutable access without locking.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }

    /// The explicit class name, if any.
    pub fn name(&self) -> Option<&'static str> {
        self.meta.name()
    }
}

/// Guard of an async [`Mutex`] that owns an `Arc` of it
/// ([`Mutex::lock_owned`]).
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct OwnedMutexGuard<T: ?Sized + 'static> {
    // field order matters only through Drop below: guard, then Arc
    inner: ManuallyDrop<ts::MutexGuard<'static, T>>,
    lock: Arc<Mutex<T>>,
    held: HeldToken,
    site: Site,
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        // SAFETY: dropped exactly once, here, while `lock` is still alive.
        unsafe { ManuallyDrop::drop(&mut self.inner) }
        if self.held != 0 {
            rt::async_released(&self.lock.meta, Mode::Mutex, self.site, self.held);
        }
    }
}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// The mutex this guard belongs to.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.lock
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        if let Some(n) = self.meta.name() {
            d.field("name", &n);
        }
        match self.inner.try_lock() {
            Ok(g) => d.field("data", &&*g),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

impl<T: Default> Default for Mutex<T> {
    #[track_caller]
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

// ---------------------------------------------------------------------------
// RwLock

/// `tokio::sync::RwLock` with LockLens tracking.
pub struct RwLock<T: ?Sized> {
    meta: LockMeta,
    inner: ts::RwLock<T>,
}

/// Shared guard of an async [`RwLock`].
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    inner: ManuallyDrop<ts::RwLockReadGuard<'a, T>>,
    held: HeldToken,
    site: Site,
}

/// Exclusive guard of an async [`RwLock`].
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    inner: ManuallyDrop<ts::RwLockWriteGuard<'a, T>>,
    held: HeldToken,
    site: Site,
}

async_guard!(RwLockReadGuard, RwLock, inner, Mode::Read,);
async_guard!(RwLockWriteGuard, RwLock, inner, Mode::Write, deref_mut);

impl<T> RwLock<T> {
    /// Creates an unlocked lock whose class is the caller's location.
    #[track_caller]
    pub fn new(t: T) -> RwLock<T> {
        RwLock { meta: LockMeta::new(Location::caller(), None, Kind::TokioRwLock), inner: ts::RwLock::new(t) }
    }

    /// Creates an unlocked lock of the named class `name`.
    #[track_caller]
    pub fn named(name: &'static str, t: T) -> RwLock<T> {
        RwLock { meta: LockMeta::new(Location::caller(), Some(name), Kind::TokioRwLock), inner: ts::RwLock::new(t) }
    }

    /// Consumes the lock, returning the data.
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Shared access; resolves when the task holds a read lock.
    #[track_caller]
    pub fn read(&self) -> impl Future<Output = RwLockReadGuard<'_, T>> + '_ {
        let site = Location::caller();
        async move {
            let (g, held) = acquire(&self.meta, Mode::Read, site, || self.inner.try_read().ok(), || self.inner.read()).await;
            RwLockReadGuard { lock: self, inner: ManuallyDrop::new(g), held, site }
        }
    }

    /// Exclusive access; resolves when the task holds the write lock.
    #[track_caller]
    pub fn write(&self) -> impl Future<Output = RwLockWriteGuard<'_, T>> + '_ {
        let site = Location::caller();
        async move {
            let (g, held) = acquire(&self.meta, Mode::Write, site, || self.inner.try_write().ok(), || self.inner.write()).await;
            RwLockWriteGuard { lock: self, inner: ManuallyDrop::new(g), held, site }
        }
    }

    /// Shared access from synchronous code.
    #[track_caller]
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        let site = Location::caller();
        let (g, held) =
            acquire_blocking(&self.meta, Mode::Read, site, || self.inner.try_read().ok(), || self.inner.blocking_read());
        RwLockReadGuard { lock: self, inner: ManuallyDrop::new(g), held, site }
    }

    /// Exclusive access from synchronous code.
    #[track_caller]
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        let site = Location::caller();
        let (g, held) =
            acquire_blocking(&self.meta, Mode::Write, site, || self.inner.try_write().ok(), || self.inner.blocking_write());
        RwLockWriteGuard { lock: self, inner: ManuallyDrop::new(g), held, site }
    }

    /// Attempts shared access without waiting.
    #[track_caller]
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        let site = Location::caller();
        let (g, held) = try_acquire(&self.meta, Mode::Read, site, self.inner.try_read())?;
        Ok(RwLockReadGuard { lock: self, inner: ManuallyDrop::new(g), held, site })
    }

    /// Attempts exclusive access without waiting.
    #[track_caller]
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        let site = Location::caller();
        let (g, held) = try_acquire(&self.meta, Mode::Write, site, self.inner.try_write())?;
        Ok(RwLockWriteGuard { lock: self, inner: ManuallyDrop::new(g), held, site })
    }

    /// Mutable access without locking.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }

    /// The explicit class name, if any.
    pub fn name(&self) -> Option<&'static str> {
        self.meta.name()
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        if let Some(n) = self.meta.name() {
            d.field("name", &n);
        }
        match self.inner.try_read() {
            Ok(g) => d.field("data", &&*g),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

impl<T: Default> Default for RwLock<T> {
    #[track_caller]
    fn default() -> Self {
        RwLock::new(T::default())
    }
}
