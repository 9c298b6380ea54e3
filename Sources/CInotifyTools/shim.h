#ifndef GADUGI_CINOTIFYTOOLS_SHIM_H
#define GADUGI_CINOTIFYTOOLS_SHIM_H
// libinotifytools ships no pkg-config file; this header is the whole bridge to it, plus the few
// glibc GNU extensions that Swift's Glibc module hides (they need _GNU_SOURCE).
#include <sys/inotify.h>
#include <inotifytools/inotifytools.h>
#include <inotifytools/inotify.h>
#include <spawn.h>
#include <fcntl.h>
#include <stdio.h>
#include <errno.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <signal.h>
#include <unistd.h>

extern int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
                     unsigned int flags);
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);
extern int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *actions, const char *path);

/// rename(2) that fails with EEXIST instead of replacing the target.
static inline int gadugi_rename_noreplace(const char *from, const char *to) {
    return renameat2(AT_FDCWD, from, AT_FDCWD, to, 1 /* RENAME_NOREPLACE */);
}

/// fcntl's F_SETLEASE (Linux-specific, hidden without _GNU_SOURCE).
static const int GADUGI_F_SETLEASE = 1024;
static const int GADUGI_F_GETLEASE = 1025;

/// glibc's POSIX_SPAWN_SETSID (a GNU extension, 0x80 since glibc 2.26).
static const short GADUGI_POSIX_SPAWN_SETSID = 0x80;
/// Makes this process the reaper of its orphaned descendants (prctl is variadic, hidden from Swift),
/// so that what a task leaves behind can be waited for and never lingers as a zombie.
static inline int gadugi_become_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

/// pidfd_open(2) (Linux 5.3; syscall is variadic, hidden from Swift): a descriptor that names one
/// process for as long as it is open, so a signal sent through it never reaches a process that
/// later reuses the pid. -1 with errno ENOSYS on older kernels.
static inline int gadugi_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}

/// pidfd_send_signal(2) (Linux 5.1).
static inline int gadugi_pidfd_send_signal(int pidfd, int sig) {
#ifdef SYS_pidfd_send_signal
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}
#endif
