//! Drop-in replacements for `parking_lot::{Mutex, RwLock, ReentrantMutex,
//! Condvar}` (feature `parking_lot`).
//!
//! Same API shape as parking_lot 0.12 (no poisoning, guards returned
//! directly, `try_*_for`/`try_*_until`, `upgradable_read`,
//! `read_recursive`, guard `upgrade`/`downgrade`), wrapping the real
//! parking_lot locks. Timed attempts appear in the wait-for graph as timed
//! waits: a cycle through one is reported (it is a bug) but never aborts.
//! Guard `map`/`unlocked` and the `arc_lock` guards are not wrapped.
//!
//! Guards are `!Send`, as parking_lot's are by default, because a hold is
//! recorded on the acquiring thread:
//!
//! ```compile_fail
//! fn is_send<T: Send>() {}
//! is_send::<locklens::parking_lot::MutexGuard<'static, u8>>();
//! ```

use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::ptr;
use std::time::{Duration, Instant};

use ::parking_lot as pl;
pub use ::parking_lot::{OnceState, WaitTimeoutResult};

use crate::rt::{self, HeldToken, LockMeta, WaitKind};

/// Keeps guards `!Send` (as parking_lot's are unless its `send_guard`
/// feature is on) while leaving them `Sync`: a guard's hold is recorded on
/// the thread that acquired it and must be released there.
#[derive(Clone, Copy, Default)]
struct NotSend(std::marker::PhantomData<*const ()>);
// SAFETY: a zero-sized marker with no data.
unsafe impl Sync for NotSend {}
use crate::track;
use crate::wire::{Kind, Mode};

macro_rules! guard_common {
    ($guard:ident, $lock:ident, $inner:ty, mut) => {
        guard_common!($guard, $lock, $inner, ref);
        impl<T: ?Sized> DerefMut for $guard<'_, T> {
            #[inline]
            fn deref_mut(&mut self) -> &mut T {
                &mut self.inner
            }
        }
    };
    ($guard:ident, $lock:ident, $inner:ty, ref) => {
        impl<T: ?Sized> Drop for $guard<'_, T> {
            #[inline]
            fn drop(&mut self) {
                // Unlock first: the bookkeeping need not lengthen the critical section.
                // SAFETY: dropped exactly once, here.
                unsafe { ManuallyDrop::drop(&mut self.inner) }
                if self.held != 0 {
                    rt::released(self.held);
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
        impl<'a, T: ?Sized> $guard<'a, T> {
            #[inline]
            fn new(lock: &'a $lock<T>, inner: $inner, held: HeldToken) -> Self {
                $guard { lock, inner: ManuallyDrop::new(inner), held, _not_send: NotSend::default() }
            }
            /// Splits the guard without running its Drop.
            #[inline]
            #[allow(dead_code)]
            fn into_parts(self) -> (&'a $lock<T>, $inner, HeldToken) {
                let me = ManuallyDrop::new(self);
                // SAFETY: `me` is never dropped; `inner` is moved out once.
                (me.lock, unsafe { ptr::read(&*me.inner) }, me.held)
            }
        }
    };
}

macro_rules! lock_common {
    ($lock:ident, $kind:expr, $inner:ty) => {
        impl<T> $lock<T> {
            /// Creates an unlocked lock whose class is the caller's location.
            #[track_caller]
            #[inline]
            pub const fn new(val: T) -> $lock<T> {
                $lock { meta: LockMeta::new(Location::caller(), None, $kind), inner: <$inner>::new(val) }
            }
            /// Creates an unlocked lock of the named class `name`.
            #[track_caller]
            #[inline]
            pub const fn named(name: &'static str, val: T) -> $lock<T> {
                $lock { meta: LockMeta::new(Location::caller(), Some(name), $kind), inner: <$inner>::new(val) }
            }
            /// Consumes the lock, returning the data.
            #[inline]
            pub fn into_inner(self) -> T {
                self.inner.into_inner()
            }
        }
        impl<T: ?Sized> $lock<T> {
            /// Mutable access without locking.
            #[inline]
            pub fn get_mut(&mut self) -> &mut T {
                self.inner.get_mut()
            }
            /// Whether the lock is currently held (by anyone).
            #[inline]
            pub fn is_locked(&self) -> bool {
                self.inner.is_locked()
            }
            /// Raw pointer to the data (see parking_lot's `data_ptr`).
            #[inline]
            pub fn data_ptr(&self) -> *mut T {
                self.inner.data_ptr()
            }
            /// The explicit class name, if any.
            pub fn name(&self) -> Option<&'static str> {
                self.meta.name()
            }
            /// Where this lock was created.
            pub fn created_at(&self) -> &'static Location<'static> {
                self.meta.created()
            }
        }
        impl<T: Default> Default for $lock<T> {
            #[track_caller]
            fn default() -> Self {
                $lock::new(T::default())
            }
        }
        impl<T> From<T> for $lock<T> {
            #[track_caller]
            fn from(t: T) -> Self {
                $lock::new(t)
            }
        }
    };
}

// ---------------------------------------------------------------------------
// Mutex

/// `parking_lot::Mutex` with LockLens tracking.
pub struct Mutex<T: ?Sized> {
    meta: LockMeta,
    inner: pl::Mutex<T>,
}

/// Guard of a [`Mutex`].
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized + 'a> {
    lock: &'a Mutex<T>,
    inner: ManuallyDrop<pl::MutexGuard<'a, T>>,
    held: HeldToken,
    _not_send: NotSend,
}

lock_common!(Mutex, Kind::PlMutex, pl::Mutex<T>);
guard_common!(MutexGuard, Mutex, pl::MutexGuard<'a, T>, mut);

impl<T: ?Sized> Mutex<T> {
    /// Acquires the mutex, blocking until it is available.
    #[track_caller]
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        let site = Location::caller();
        let (g, h) = track::acquire(&self.meta, Mode::Mutex, site, WaitKind::Plain, || self.inner.try_lock(), || self.inner.lock());
        MutexGuard::new(self, g, h)
    }

    /// Attempts to acquire the mutex without blocking.
    #[track_caller]
    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        let (g, h) = track::try_acquire(&self.meta, Mode::Mutex, Location::caller(), || self.inner.try_lock())?;
        Some(MutexGuard::new(self, g, h))
    }

    /// Attempts to acquire the mutex, waiting at most `timeout`.
    #[track_caller]
    pub fn try_lock_for(&self, timeout: Duration) -> Option<MutexGuard<'_, T>> {
        let deadline = Instant::now().checked_add(timeout);
        let (g, h) = track::acquire_until(
            &self.meta,
            Mode::Mutex,
            Location::caller(),
            deadline,
            || self.inner.try_lock(),
            || match deadline {
                Some(d) => self.inner.try_lock_until(d),
                None => Some(self.inner.lock()),
            },
        )?;
        Some(MutexGuard::new(self, g, h))
    }

    /// Attempts to acquire the mutex until `deadline`.
    #[track_caller]
    pub fn try_lock_until(&self, deadline: Instant) -> Option<MutexGuard<'_, T>> {
        let (g, h) = track::acquire_until(
            &self.meta,
            Mode::Mutex,
            Location::caller(),
            Some(deadline),
            || self.inner.try_lock(),
            || self.inner.try_lock_until(deadline),
        )?;
        Some(MutexGuard::new(self, g, h))
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        if let Some(n) = self.meta.name() {
            d.field("name", &n);
        }
        match self.inner.try_lock() {
            Some(g) => d.field("data", &&*g),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------
// Condvar

/// `parking_lot::Condvar` working with LockLens [`MutexGuard`]s.
#[derive(Default)]
pub struct Condvar {
    inner: pl::Condvar,
}

impl Condvar {
    /// Creates a condition variable.
    #[inline]
    pub const fn new() -> Condvar {
        Condvar { inner: pl::Condvar::new() }
    }

    /// Wakes one waiter; returns whether one was woken.
    #[inline]
    pub fn notify_one(&self) -> bool {
        self.inner.notify_one()
    }

    /// Wakes all waiters; returns how many.
    #[inline]
    pub fn notify_all(&self) -> usize {
        self.inner.notify_all()
    }

    #[inline]
    fn around<T: ?Sized, R>(
        g: &mut MutexGuard<'_, T>,
        site: &'static Location<'static>,
        f: impl FnOnce(&mut pl::MutexGuard<'_, T>) -> R,
    ) -> R {
        let held = g.held;
        rt::released(held);
        let r = f(&mut g.inner);
        g.held = if held != 0 && rt::enabled() { rt::acquired(&g.lock.meta, Mode::Mutex, site, None) } else { 0 };
        r
    }

    /// Blocks until notified.
    #[track_caller]
    pub fn wait<T: ?Sized>(&self, guard: &mut MutexGuard<'_, T>) {
        Self::around(guard, Location::caller(), |g| self.inner.wait(g))
    }

    /// Blocks until notified or `timeout` elapsed.
    #[track_caller]
    pub fn wait_for<T: ?Sized>(&self, guard: &mut MutexGuard<'_, T>, timeout: Duration) -> WaitTimeoutResult {
        Self::around(guard, Location::caller(), |g| self.inner.wait_for(g, timeout))
    }

    /// Blocks until notified or `deadline`.
    #[track_caller]
    pub fn wait_until<T: ?Sized>(&self, guard: &mut MutexGuard<'_, T>, deadline: Instant) -> WaitTimeoutResult {
        Self::around(guard, Location::caller(), |g| self.inner.wait_until(g, deadline))
    }

    /// Blocks while `condition` returns true.
    #[track_caller]
    pub fn wait_while<T, F>(&self, guard: &mut MutexGuard<'_, T>, condition: F)
    where
        F: FnMut(&mut T) -> bool,
    {
        Self::around(guard, Location::caller(), |g| self.inner.wait_while(g, condition))
    }

    /// Blocks while `condition` returns true, at most `timeout`.
    #[track_caller]
    pub fn wait_while_for<T, F>(&self, guard: &mut MutexGuard<'_, T>, condition: F, timeout: Duration) -> WaitTimeoutResult
    where
        F: FnMut(&mut T) -> bool,
    {
        Self::around(guard, Location::caller(), |g| self.inner.wait_while_for(g, condition, timeout))
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------
// RwLock

/// `parking_lot::RwLock` with LockLens tracking.
pub struct RwLock<T: ?Sized> {
    meta: LockMeta,
    inner: pl::RwLock<T>,
}

/// Shared guard of an [`RwLock`].
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized + 'a> {
    lock: &'a RwLock<T>,
    inner: ManuallyDrop<pl::RwLockReadGuard<'a, T>>,
    held: HeldToken,
    _not_send: NotSend,
}

/// Exclusive guard of an [`RwLock`].
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized + 'a> {
    lock: &'a RwLock<T>,
    inner: ManuallyDrop<pl::RwLockWriteGuard<'a, T>>,
    held: HeldToken,
    _not_send: NotSend,
}

/// Upgradable shared guard of an [`RwLock`].
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockUpgradableReadGuard<'a, T: ?Sized + 'a> {
    lock: &'a RwLock<T>,
    inner: ManuallyDrop<pl::RwLockUpgradableReadGuard<'a, T>>,
    held: HeldToken,
    _not_send: NotSend,
}

lock_common!(RwLock, Kind::PlRwLock, pl::RwLock<T>);
guard_common!(RwLockReadGuard, RwLock, pl::RwLockReadGuard<'a, T>, ref);
guard_common!(RwLockWriteGuard, RwLock, pl::RwLockWriteGuard<'a, T>, mut);
guard_common!(RwLockUpgradableReadGuard, RwLock, pl::RwLockUpgradableReadGuard<'a, T>, ref);

macro_rules! rw_methods {
    ($mode:expr, $guard:ident,
     $block:ident, $try:ident, $try_for:ident, $try_until:ident,
     $doc:literal) => {
        #[doc = concat!("Acquires ", $doc, ", blocking.")]
        #[track_caller]
        #[inline]
        pub fn $block(&self) -> $guard<'_, T> {
            let (g, h) = track::acquire(&self.meta, $mode, Location::caller(), WaitKind::Plain, || self.inner.$try(), || self.inner.$block());
            $guard::new(self, g, h)
        }
        #[doc = concat!("Attempts ", $doc, " without blocking.")]
        #[track_caller]
        #[inline]
        pub fn $try(&self) -> Option<$guard<'_, T>> {
            let (g, h) = track::try_acquire(&self.meta, $mode, Location::caller(), || self.inner.$try())?;
            Some($guard::new(self, g, h))
        }
        #[doc = concat!("Attempts ", $doc, ", waiting at most `timeout`.")]
        #[track_caller]
        pub fn $try_for(&self, timeout: Duration) -> Option<$guard<'_, T>> {
            let deadline = Instant::now().checked_add(timeout);
            let (g, h) = track::acquire_until(&self.meta, $mode, Location::caller(), deadline, || self.inner.$try(), || match deadline {
                Some(d) => self.inner.$try_until(d),
                None => Some(self.inner.$block()),
            })?;
            Some($guard::new(self, g, h))
        }
        #[doc = concat!("Attempts ", $doc, " until `deadline`.")]
        #[track_caller]
        pub fn $try_until(&self, deadline: Instant) -> Option<$guard<'_, T>> {
            let (g, h) =
                track::acquire_until(&self.meta, $mode, Location::caller(), Some(deadline), || self.inner.$try(), || self.inner.$try_until(deadline))?;
            Some($guard::new(self, g, h))
        }
    };
}

impl<T: ?Sized> RwLock<T> {
    rw_methods!(Mode::Read, RwLockReadGuard, read, try_read, try_read_for, try_read_until, "shared access");
    rw_methods!(Mode::Write, RwLockWriteGuard, write, try_write, try_write_for, try_write_until, "exclusive access");
    rw_methods!(
        Mode::Read,
        RwLockReadGuard,
        read_recursive,
        try_read_recursive,
        try_read_recursive_for,
        try_read_recursive_until,
        "shared access that ignores waiting writers (safe while this thread already reads)"
    );
    rw_methods!(
        Mode::Upgradable,
        RwLockUpgradableReadGuard,
        upgradable_read,
        try_upgradable_read,
        try_upgradable_read_for,
        try_upgradable_read_until,
        "upgradable shared access"
    );

    /// Whether a writer holds the lock.
    #[inline]
    pub fn is_locked_exclusive(&self) -> bool {
        self.inner.is_locked_exclusive()
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        if let Some(n) = self.meta.name() {
            d.field("name", &n);
        }
        match self.inner.try_read() {
            Some(g) => d.field("data", &&*g),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Atomically turns the write lock into a read lock.
    #[track_caller]
    pub fn downgrade(s: Self) -> RwLockReadGuard<'a, T> {
        let (lock, g, held) = s.into_parts();
        let held = track::rehold(&lock.meta, held, Mode::Read, Location::caller(), None);
        RwLockReadGuard::new(lock, pl::RwLockWriteGuard::downgrade(g), held)
    }

    /// Atomically turns the write lock into an upgradable read lock.
    #[track_caller]
    pub fn downgrade_to_upgradable(s: Self) -> RwLockUpgradableReadGuard<'a, T> {
        let (lock, g, held) = s.into_parts();
        let held = track::rehold(&lock.meta, held, Mode::Upgradable, Location::caller(), None);
        RwLockUpgradableReadGuard::new(lock, pl::RwLockWriteGuard::downgrade_to_upgradable(g), held)
    }
}

impl<'a, T: ?Sized> RwLockUpgradableReadGuard<'a, T> {
    /// Upgrades to a write lock, waiting for the other readers to leave.
    #[track_caller]
    pub fn upgrade(s: Self) -> RwLockWriteGuard<'a, T> {
        let site = Location::caller();
        let (lock, g, held) = s.into_parts();
        if held == 0 || !rt::enabled() {
            let h = track::rehold(&lock.meta, held, Mode::Write, site, None);
            return RwLockWriteGuard::new(lock, pl::RwLockUpgradableReadGuard::upgrade(g), h);
        }
        match pl::RwLockUpgradableReadGuard::try_upgrade(g) {
            Ok(w) => RwLockWriteGuard::new(lock, w, track::rehold(&lock.meta, held, Mode::Write, site, None)),
            Err(g) => {
                let wt = rt::begin_wait(&lock.meta, Mode::Write, site, WaitKind::Upgrade);
                let w = pl::RwLockUpgradableReadGuard::upgrade(g);
                let waited = rt::end_wait(wt);
                RwLockWriteGuard::new(lock, w, track::rehold(&lock.meta, held, Mode::Write, site, waited))
            }
        }
    }

    /// Upgrades to a write lock if no other reader holds the lock.
    #[track_caller]
    pub fn try_upgrade(s: Self) -> Result<RwLockWriteGuard<'a, T>, Self> {
        let site = Location::caller();
        let (lock, g, held) = s.into_parts();
        match pl::RwLockUpgradableReadGuard::try_upgrade(g) {
            Ok(w) => Ok(RwLockWriteGuard::new(lock, w, track::rehold(&lock.meta, held, Mode::Write, site, None))),
            Err(g) => Err(RwLockUpgradableReadGuard::new(lock, g, held)),
        }
    }

    /// Upgrades to a write lock, waiting at most `timeout`.
    #[track_caller]
    pub fn try_upgrade_for(s: Self, timeout: Duration) -> Result<RwLockWriteGuard<'a, T>, Self> {
        let site = Location::caller();
        let (lock, g, held) = s.into_parts();
        let g = match pl::RwLockUpgradableReadGuard::try_upgrade(g) {
            Ok(w) => return Ok(RwLockWriteGuard::new(lock, w, track::rehold(&lock.meta, held, Mode::Write, site, None))),
            Err(g) => g,
        };
        let wt = if held != 0 && rt::enabled() { rt::begin_wait(&lock.meta, Mode::Write, site, WaitKind::Timed) } else { None };
        let r = pl::RwLockUpgradableReadGuard::try_upgrade_for(g, timeout);
        let waited = rt::end_wait(wt);
        match r {
            Ok(w) => Ok(RwLockWriteGuard::new(lock, w, track::rehold(&lock.meta, held, Mode::Write, site, waited))),
            Err(g) => {
                if held != 0 {
                    rt::wait_timed_out(&lock.meta, Mode::Write, site, waited);
                }
                Err(RwLockUpgradableReadGuard::new(lock, g, held))
            }
        }
    }

    /// Turns the upgradable lock into a plain read lock.
    #[track_caller]
    pub fn downgrade(s: Self) -> RwLockReadGuard<'a, T> {
        let (lock, g, held) = s.into_parts();
        let held = track::rehold(&lock.meta, held, Mode::Read, Location::caller(), None);
        RwLockReadGuard::new(lock, pl::RwLockUpgradableReadGuard::downgrade(g), held)
    }
}

// ---------------------------------------------------------------------------
// ReentrantMutex

/// `parking_lot::ReentrantMutex` with LockLens tracking. Re-locking on the
/// owning thread never waits and creates no order edge.
pub struct ReentrantMutex<T: ?Sized> {
    meta: LockMeta,
    inner: pl::ReentrantMutex<T>,
}

/// Guard of a [`ReentrantMutex`] (shared access only, as in parking_lot).
#[must_use = "if unused the ReentrantMutex will immediately unlock"]
pub struct ReentrantMutexGuard<'a, T: ?Sized + 'a> {
    lock: &'a ReentrantMutex<T>,
    inner: ManuallyDrop<pl::ReentrantMutexGuard<'a, T>>,
    held: HeldToken,
    _not_send: NotSend,
}

lock_common!(ReentrantMutex, Kind::PlReentrantMutex, pl::ReentrantMutex<T>);
guard_common!(ReentrantMutexGuard, ReentrantMutex, pl::ReentrantMutexGuard<'a, T>, ref);

impl<T: ?Sized> ReentrantMutex<T> {
    /// Acquires the mutex (immediately if this thread owns it already).
    #[track_caller]
    #[inline]
    pub fn lock(&self) -> ReentrantMutexGuard<'_, T> {
        let (g, h) =
            track::acquire(&self.meta, Mode::Reentrant, Location::caller(), WaitKind::Plain, || self.inner.try_lock(), || self.inner.lock());
        ReentrantMutexGuard::new(self, g, h)
    }

    /// Attempts to acquire the mutex without blocking.
    #[track_caller]
    #[inline]
    pub fn try_lock(&self) -> Option<ReentrantMutexGuard<'_, T>> {
        let (g, h) = track::try_acquire(&self.meta, Mode::Reentrant, Location::caller(), || self.inner.try_lock())?;
        Some(ReentrantMutexGuard::new(self, g, h))
    }

    /// Attempts to acquire the mutex, waiting at most `timeout`.
    #[track_caller]
    pub fn try_lock_for(&self, timeout: Duration) -> Option<ReentrantMutexGuard<'_, T>> {
        let deadline = Instant::now().checked_add(timeout);
        let (g, h) = track::acquire_until(
            &self.meta,
            Mode::Reentrant,
            Location::caller(),
            deadline,
            || self.inner.try_lock(),
            || match deadline {
                Some(d) => self.inner.try_lock_until(d),
                None => Some(self.inner.lock()),
            },
        )?;
        Some(ReentrantMutexGuard::new(self, g, h))
    }

    /// Attempts to acquire the mutex until `deadline`.
    #[track_caller]
    pub fn try_lock_until(&self, deadline: Instant) -> Option<ReentrantMutexGuard<'_, T>> {
        let (g, h) = track::acquire_until(
            &self.meta,
            Mode::Reentrant,
            Location::caller(),
            Some(deadline),
            || self.inner.try_lock(),
            || self.inner.try_lock_until(deadline),
        )?;
        Some(ReentrantMutexGuard::new(self, g, h))
    }

    /// Whether the calling thread holds the mutex.
    #[inline]
    pub fn is_owned_by_current_thread(&self) -> bool {
        self.inner.is_owned_by_current_thread()
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for ReentrantMutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ReentrantMutex");
        if let Some(n) = self.meta.name() {
            d.field("name", &n);
        }
        match self.inner.try_lock() {
            Some(g) => d.field("data", &&*g),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}
