//! Drop-in replacements for `std::sync::{Mutex, RwLock, Condvar}`.
//!
//! Same API, same semantics (they wrap the std primitives, so poisoning,
//! fairness and blocking behaviour are std's), plus LockLens tracking when
//! the hook is on. Everything else of `std::sync` is re-exported so a
//! migration is a single `use` line.
//!
//! Like std's, the guards are `!Send`:
//!
//! ```compile_fail
//! fn is_send<T: Send>() {}
//! is_send::<locklens::sync::MutexGuard<'static, u8>>();
//! ```

use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::ptr;
use std::sync as s;
use std::time::Duration;

pub use std::sync::{
    atomic, mpsc, Arc, Barrier, BarrierWaitResult, LazyLock, LockResult, Once, OnceLock, OnceState, PoisonError,
    TryLockError, TryLockResult, WaitTimeoutResult, Weak,
};

use crate::rt::{self, HeldToken, LockMeta, WaitKind};
use crate::wire::{Kind, Mode};

#[inline]
fn map_lock<G, H>(r: LockResult<G>, f: impl FnOnce(G) -> H) -> LockResult<H> {
    match r {
        Ok(g) => Ok(f(g)),
        Err(p) => Err(PoisonError::new(f(p.into_inner()))),
    }
}

/// A `try_*` result as the lock result it would have had, or `None` if the
/// lock was busy.
#[inline]
fn unless_busy<G>(r: TryLockResult<G>) -> Option<LockResult<G>> {
    match r {
        Ok(g) => Some(Ok(g)),
        Err(TryLockError::Poisoned(p)) => Some(Err(p)),
        Err(TryLockError::WouldBlock) => None,
    }
}

// ---------------------------------------------------------------------------
// Mutex

/// A mutual exclusion lock: [`std::sync::Mutex`] with LockLens tracking.
///
/// The lock class is the creation site (`Mutex::new` is `#[track_caller]`)
/// or the name given to [`Mutex::named`].
pub struct Mutex<T: ?Sized> {
    meta: LockMeta,
    inner: s::Mutex<T>,
}

/// RAII guard of a [`Mutex`]; unlocks on drop. Derefs to the data.
#[must_use = "if unused the Mutex will immediately unlock"]
#[clippy::has_significant_drop]
pub struct MutexGuard<'a, T: ?Sized + 'a> {
    lock: &'a Mutex<T>,
    inner: ManuallyDrop<s::MutexGuard<'a, T>>,
    held: HeldToken,
}

impl<T> Mutex<T> {
    /// Creates an unlocked mutex whose class is the caller's location.
    #[track_caller]
    #[inline]
    pub const fn new(t: T) -> Mutex<T> {
        Mutex { meta: LockMeta::new(Location::caller(), None, Kind::StdMutex), inner: s::Mutex::new(t) }
    }

    /// Creates an unlocked mutex of the named class `name`.
    #[track_caller]
    #[inline]
    pub const fn named(name: &'static str, t: T) -> Mutex<T> {
        Mutex { meta: LockMeta::new(Location::caller(), Some(name), Kind::StdMutex), inner: s::Mutex::new(t) }
    }

    /// Consumes the mutex, returning the data (poisoning as in std).
    pub fn into_inner(self) -> LockResult<T> {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Acquires the mutex, blocking until it is available.
    #[track_caller]
    #[inline(always)]
    pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
        if !rt::enabled() {
            // std's inlined lock: its slow path returns nothing, so the
            // guard stays in registers (a result returned through memory
            // from an out-of-line path would put it on the stack)
            return map_lock(self.inner.lock(), |g| self.guard(g, 0));
        }
        match self.inner.try_lock() {
            Ok(g) => Ok(self.guard(g, rt::acquired(&self.meta, Mode::Mutex, Location::caller(), None))),
            Err(e) => {
                let mut held = (0, false);
                let g = self.lock_not_free(e, Location::caller(), &mut held);
                let g = self.guard(g, held.0);
                if held.1 {
                    Err(PoisonError::new(g))
                } else {
                    Ok(g)
                }
            }
        }
    }

    /// [`Mutex::lock`] with the hook on when the lock is poisoned or busy:
    /// out of line, so that only the common case is inlined at every call
    /// site. Returns the std guard alone (two registers) and the token and
    /// whether the lock was poisoned in `held`: a whole `LockResult` would
    /// be returned through memory, and the caller's guard with it (~17
    /// extra moves per acquisition where the guard is kept across a call).
    #[cold]
    #[inline(never)]
    fn lock_not_free<'a>(
        &'a self,
        e: TryLockError<s::MutexGuard<'a, T>>,
        site: &'static Location<'static>,
        held: &mut (HeldToken, bool),
    ) -> s::MutexGuard<'a, T> {
        let (r, token) = match e {
            TryLockError::Poisoned(p) => (Err(p), rt::acquired(&self.meta, Mode::Mutex, site, None)),
            TryLockError::WouldBlock => {
                let try_ = || unless_busy(self.inner.try_lock());
                crate::track::blocking(&self.meta, Mode::Mutex, site, WaitKind::Plain, try_, || self.inner.lock())
            }
        };
        *held = (token, r.is_err());
        r.unwrap_or_else(PoisonError::into_inner)
    }

    /// Attempts to acquire the mutex without blocking.
    #[track_caller]
    #[inline]
    pub fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
        if !rt::enabled() {
            return match self.inner.try_lock() {
                Ok(g) => Ok(self.guard(g, 0)),
                Err(TryLockError::Poisoned(p)) => Err(TryLockError::Poisoned(PoisonError::new(self.guard(p.into_inner(), 0)))),
                Err(TryLockError::WouldBlock) => Err(TryLockError::WouldBlock),
            };
        }
        let site = Location::caller();
        match self.inner.try_lock() {
            Ok(g) => Ok(self.guard(g, rt::acquired(&self.meta, Mode::Mutex, site, None))),
            Err(TryLockError::Poisoned(p)) => Err(TryLockError::Poisoned(PoisonError::new(
                self.guard(p.into_inner(), rt::acquired(&self.meta, Mode::Mutex, site, None)),
            ))),
            Err(TryLockError::WouldBlock) => {
                rt::try_failed(&self.meta, Mode::Mutex, site);
                Err(TryLockError::WouldBlock)
            }
        }
    }

    #[inline]
    fn guard<'a>(&'a self, g: s::MutexGuard<'a, T>, held: HeldToken) -> MutexGuard<'a, T> {
        MutexGuard { lock: self, inner: ManuallyDrop::new(g), held }
    }

    /// Whether the mutex is poisoned.
    #[inline]
    pub fn is_poisoned(&self) -> bool {
        self.inner.is_poisoned()
    }

    /// Clears the poisoned state.
    #[inline]
    pub fn clear_poison(&self) {
        self.inner.clear_poison()
    }

    /// Mutable access without locking (the borrow proves exclusivity).
    #[inline]
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        self.inner.get_mut()
    }

    /// The explicit class name, if any.
    pub fn name(&self) -> Option<&'static str> {
        self.meta.name()
    }

    /// Where this mutex was created.
    pub fn created_at(&self) -> &'static Location<'static> {
        self.meta.created()
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
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

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Splits the guard without running its Drop.
    fn into_parts(self) -> (&'a Mutex<T>, s::MutexGuard<'a, T>, HeldToken) {
        let me = ManuallyDrop::new(self);
        // SAFETY: `me` is never dropped, so `inner` is moved out exactly once.
        (me.lock, unsafe { ptr::read(&*me.inner) }, me.held)
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Like std: never blocks, and does not count as an acquisition.
        let mut d = f.debug_struct("Mutex");
        if let Some(n) = self.meta.name() {
            d.field("name", &n);
        }
        match self.inner.try_lock() {
            Ok(g) => d.field("data", &&*g),
            Err(TryLockError::Poisoned(p)) => d.field("data", &&**p.get_ref()),
            Err(TryLockError::WouldBlock) => d.field("data", &format_args!("<locked>")),
        };
        d.field("poisoned", &self.inner.is_poisoned());
        d.finish_non_exhaustive()
    }
}

impl<T: Default> Default for Mutex<T> {
    #[track_caller]
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    #[track_caller]
    fn from(t: T) -> Mutex<T> {
        Mutex::new(t)
    }
}

// ---------------------------------------------------------------------------
// RwLock

/// A reader-writer lock: [`std::sync::RwLock`] with LockLens tracking.
pub struct RwLock<T: ?Sized> {
    meta: LockMeta,
    inner: s::RwLock<T>,
}

/// Shared guard of an [`RwLock`].
#[must_use = "if unused the RwLock will immediately unlock"]
#[clippy::has_significant_drop]
pub struct RwLockReadGuard<'a, T: ?Sized + 'a> {
    inner: ManuallyDrop<s::RwLockReadGuard<'a, T>>,
    held: HeldToken,
}

/// Exclusive guard of an [`RwLock`].
#[must_use = "if unused the RwLock will immediately unlock"]
#[clippy::has_significant_drop]
pub struct RwLockWriteGuard<'a, T: ?Sized + 'a> {
    inner: ManuallyDrop<s::RwLockWriteGuard<'a, T>>,
    held: HeldToken,
}

impl<T> RwLock<T> {
    /// Creates an unlocked lock whose class is the caller's location.
    #[track_caller]
    #[inline]
    pub const fn new(t: T) -> RwLock<T> {
        RwLock { meta: LockMeta::new(Location::caller(), None, Kind::StdRwLock), inner: s::RwLock::new(t) }
    }

    /// Creates an unlocked lock of the named class `name`.
    #[track_caller]
    #[inline]
    pub const fn named(name: &'static str, t: T) -> RwLock<T> {
        RwLock { meta: LockMeta::new(Location::caller(), Some(name), Kind::StdRwLock), inner: s::RwLock::new(t) }
    }

    /// Consumes the lock, returning the data.
    pub fn into_inner(self) -> LockResult<T> {
        self.inner.into_inner()
    }
}

macro_rules! rw_acquire {
    ($self:ident, $mode:expr, $try:ident, $block:ident, $wrap:ident) => {{
        if !rt::enabled() {
            return map_lock($self.inner.$block(), |g| $self.$wrap(g, 0));
        }
        let site = Location::caller();
        // Out of line: keeps the off path small enough to inline.
        #[inline(never)]
        fn tracked<G>(
            meta: &LockMeta,
            site: &'static Location<'static>,
            try_: impl Fn() -> TryLockResult<G>,
            block: impl FnOnce() -> LockResult<G>,
        ) -> (LockResult<G>, HeldToken) {
            crate::track::acquire_on(
                meta,
                $mode,
                site,
                WaitKind::Plain,
                || unless_busy(try_()),
                block,
            )
        }
        let (r, held) = tracked(&$self.meta, site, || $self.inner.$try(), || $self.inner.$block());
        map_lock(r, |g| $self.$wrap(g, held))
    }};
}

macro_rules! rw_try {
    ($self:ident, $mode:expr, $try:ident, $wrap:ident) => {{
        let on = rt::enabled();
        let site = Location::caller();
        let track = |me: &Self| if on { rt::acquired(&me.meta, $mode, site, None) } else { 0 };
        match $self.inner.$try() {
            Ok(g) => Ok($self.$wrap(g, track($self))),
            Err(TryLockError::Poisoned(p)) => Err(TryLockError::Poisoned(PoisonError::new($self.$wrap(p.into_inner(), track($self))))),
            Err(TryLockError::WouldBlock) => {
                if on {
                    rt::try_failed(&$self.meta, $mode, site);
                }
                Err(TryLockError::WouldBlock)
            }
        }
    }};
}

impl<T: ?Sized> RwLock<T> {
    /// Acquires shared read access, blocking while a writer holds the lock.
    #[track_caller]
    #[inline]
    pub fn read(&self) -> LockResult<RwLockReadGuard<'_, T>> {
        rw_acquire!(self, Mode::Read, try_read, read, rguard)
    }

    /// Acquires exclusive write access, blocking until it is available.
    #[track_caller]
    #[inline]
    pub fn write(&self) -> LockResult<RwLockWriteGuard<'_, T>> {
        rw_acquire!(self, Mode::Write, try_write, write, wguard)
    }

    /// Attempts shared access without blocking.
    #[track_caller]
    #[inline]
    pub fn try_read(&self) -> TryLockResult<RwLockReadGuard<'_, T>> {
        rw_try!(self, Mode::Read, try_read, rguard)
    }

    /// Attempts exclusive access without blocking.
    #[track_caller]
    #[inline]
    pub fn try_write(&self) -> TryLockResult<RwLockWriteGuard<'_, T>> {
        rw_try!(self, Mode::Write, try_write, wguard)
    }

    #[inline]
    fn rguard<'a>(&'a self, g: s::RwLockReadGuard<'a, T>, held: HeldToken) -> RwLockReadGuard<'a, T> {
        RwLockReadGuard { inner: ManuallyDrop::new(g), held }
    }

    #[inline]
    fn wguard<'a>(&'a self, g: s::RwLockWriteGuard<'a, T>, held: HeldToken) -> RwLockWriteGuard<'a, T> {
        RwLockWriteGuard { inner: ManuallyDrop::new(g), held }
    }

    /// Whether the lock is poisoned.
    #[inline]
    pub fn is_poisoned(&self) -> bool {
        self.inner.is_poisoned()
    }

    /// Clears the poisoned state.
    #[inline]
    pub fn clear_poison(&self) {
        self.inner.clear_poison()
    }

    /// Mutable access without locking.
    #[inline]
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        self.inner.get_mut()
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

macro_rules! guard_impls {
    ($guard:ident, $mut:tt) => {
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
        guard_impls!(@mut $mut, $guard);
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
    (@mut mut, $guard:ident) => {
        impl<T: ?Sized> DerefMut for $guard<'_, T> {
            #[inline]
            fn deref_mut(&mut self) -> &mut T {
                &mut self.inner
            }
        }
    };
    (@mut ref, $guard:ident) => {};
}

guard_impls!(RwLockReadGuard, ref);
guard_impls!(RwLockWriteGuard, mut);

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        if let Some(n) = self.meta.name() {
            d.field("name", &n);
        }
        match self.inner.try_read() {
            Ok(g) => d.field("data", &&*g),
            Err(TryLockError::Poisoned(p)) => d.field("data", &&**p.get_ref()),
            Err(TryLockError::WouldBlock) => d.field("data", &format_args!("<locked>")),
        };
        d.field("poisoned", &self.inner.is_poisoned());
        d.finish_non_exhaustive()
    }
}

impl<T: Default> Default for RwLock<T> {
    #[track_caller]
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    #[track_caller]
    fn from(t: T) -> RwLock<T> {
        RwLock::new(t)
    }
}

// ---------------------------------------------------------------------------
// Condvar

/// A condition variable working with LockLens [`MutexGuard`]s.
///
/// While a thread waits on the condvar its mutex is not held, and LockLens
/// records it that way; the re-acquisition on wake-up is attributed to the
/// `wait*` call site.
#[derive(Default)]
pub struct Condvar {
    inner: s::Condvar,
}

impl Condvar {
    /// Creates a new condition variable.
    #[inline]
    pub const fn new() -> Condvar {
        Condvar { inner: s::Condvar::new() }
    }

    /// Blocks until notified (spurious wake-ups possible, as in std).
    #[track_caller]
    pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> LockResult<MutexGuard<'a, T>> {
        let site = Location::caller();
        let (lock, g, held) = guard.into_parts();
        rt::released(held);
        let r = self.inner.wait(g);
        map_lock(r, |g| lock.guard(g, reacquired(lock, held, site)))
    }

    /// Blocks while `condition` returns true.
    #[track_caller]
    pub fn wait_while<'a, T, F>(&self, guard: MutexGuard<'a, T>, condition: F) -> LockResult<MutexGuard<'a, T>>
    where
        F: FnMut(&mut T) -> bool,
    {
        let site = Location::caller();
        let (lock, g, held) = guard.into_parts();
        rt::released(held);
        let r = self.inner.wait_while(g, condition);
        map_lock(r, |g| lock.guard(g, reacquired(lock, held, site)))
    }

    /// Blocks until notified or `dur` elapsed.
    #[track_caller]
    pub fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        dur: Duration,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
        let site = Location::caller();
        let (lock, g, held) = guard.into_parts();
        rt::released(held);
        let r = self.inner.wait_timeout(g, dur);
        map_lock(r, |(g, t)| (lock.guard(g, reacquired(lock, held, site)), t))
    }

    /// Blocks while `condition` returns true, at most `dur`.
    #[track_caller]
    pub fn wait_timeout_while<'a, T, F>(
        &self,
        guard: MutexGuard<'a, T>,
        dur: Duration,
        condition: F,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)>
    where
        F: FnMut(&mut T) -> bool,
    {
        let site = Location::caller();
        let (lock, g, held) = guard.into_parts();
        rt::released(held);
        let r = self.inner.wait_timeout_while(g, dur, condition);
        map_lock(r, |(g, t)| (lock.guard(g, reacquired(lock, held, site)), t))
    }

    /// Wakes one waiter.
    #[inline]
    pub fn notify_one(&self) {
        self.inner.notify_one()
    }

    /// Wakes all waiters.
    #[inline]
    pub fn notify_all(&self) {
        self.inner.notify_all()
    }
}

/// Tracks the mutex again after a condvar wait (only if it was tracked
/// before, so a guard taken while the hook was off stays untracked).
#[inline]
fn reacquired<T: ?Sized>(lock: &Mutex<T>, held: HeldToken, site: &'static Location<'static>) -> HeldToken {
    if held != 0 && rt::enabled() {
        rt::acquired(&lock.meta, Mode::Mutex, site, None)
    } else {
        0
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}
