#ifndef GATEHOUSE_CSYSTEMSHIMS_H
#define GATEHOUSE_CSYSTEMSHIMS_H
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/stat.h>

/// rename(2) that fails with EEXIST instead of replacing the target (renameat2 with
/// RENAME_NOREPLACE). glibc declares renameat2 only under _GNU_SOURCE, which Swift's Glibc
/// module does not set, so call the system call directly. Returns -1 with errno EINVAL on
/// file systems that do not support the flag.
static inline int gatehouse_rename_noreplace(const char *from, const char *to) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, 1u /* RENAME_NOREPLACE */);
}

/// Starts writeback of a file range without waiting for it (sync_file_range with
/// SYNC_FILE_RANGE_WRITE), so a later fsync has little left to do. Also _GNU_SOURCE-only.
static inline int gatehouse_start_writeback(int fd, long long offset, long long length) {
    return (int)syscall(SYS_sync_file_range, fd, offset, length, 2u /* SYNC_FILE_RANGE_WRITE */);
}

/// syncfs(fd), also _GNU_SOURCE-only: writes out everything pending on the file system that
/// holds fd, in one journal commit (far cheaper than an fsync per file for many small files).
/// Reports writeback errors of that file system since fd was opened (Linux 5.8+).
static inline int gatehouse_syncfs(int fd) {
    return (int)syscall(SYS_syncfs, fd);
}

/// The birth time of the file at `path`, not following a link (statx(2) with STATX_BTIME, also
/// _GNU_SOURCE-only): 0 with *seconds and *nanoseconds set (both 0 where the file system keeps no
/// birth time), or -1 with errno. With the inode it tells a new file from an old one whose inode
/// number was freed and used again.
static inline int gatehouse_birth_time(const char *path, long long *seconds, unsigned *nanoseconds) {
    struct statx info;
    if (syscall(SYS_statx, AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BTIME, &info) != 0) return -1;
    int known = (info.stx_mask & STATX_BTIME) != 0;
    *seconds = known ? info.stx_btime.tv_sec : 0;
    *nanoseconds = known ? info.stx_btime.tv_nsec : 0;
    return 0;
}

/// pipe2(fds, O_CLOEXEC), also _GNU_SOURCE-only: a pipe no other spawned program inherits.
static inline int gatehouse_pipe_cloexec(int fds[2]) {
    return (int)syscall(SYS_pipe2, fds, O_CLOEXEC);
}

/// posix_spawn_file_actions_addclosefrom_np (glibc 2.34+), declared only under _GNU_SOURCE:
/// the spawned program gets no descriptor from 3 up.
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);
static inline int gatehouse_spawn_close_from(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

/// Asks whether anyone has the file behind `fd` (opened O_RDONLY) open for writing, by taking a
/// read lease and dropping it at once (fcntl F_SETLEASE, _GNU_SOURCE-only). Returns 0 when no one
/// has (the lease was granted), -1 with errno EAGAIN when someone has, and -1 with another errno
/// (EACCES: not the file's owner and no CAP_LEASE; EINVAL: leases off or unsupported) when the
/// kernel cannot tell us. A writer opening the file in the microseconds the lease is held breaks
/// it, which signals the holder: SIGURG instead of the default SIGIO (whose default action ends
/// the process), and SIGURG's default action is to ignore it.
static inline int gatehouse_no_writers(int fd) {
    if (fcntl(fd, 10 /* F_SETSIG */, SIGURG) != 0) return -1;
    if (fcntl(fd, 1024 /* F_SETLEASE */, F_RDLCK) != 0) return -1;
    fcntl(fd, 1024 /* F_SETLEASE */, F_UNLCK);
    return 0;
}

/// pidfd_open(pid, 0) (Linux 5.3+; no glibc wrapper before 2.36, and only under _GNU_SOURCE):
/// a descriptor that becomes readable when the process exits, so a session can wait on the
/// relay's sshd in poll(2) beside its input.
static inline int gatehouse_pidfd_open(pid_t pid) {
    return (int)syscall(SYS_pidfd_open, pid, 0u);
}
/// statfs(2)'s f_type of the file system holding `path` (a magic number, linux/magic.h), or -1
/// with errno set. Swift's Glibc module does not include sys/vfs.h.
static inline long long gatehouse_filesystem_type(const char *path) {
    struct statfs info;
    if (statfs(path, &info) != 0) return -1;
    return (long long)(unsigned int)info.f_type;
}

/// pipe2(2) with O_CLOEXEC | O_NONBLOCK on both ends (_GNU_SOURCE-only in glibc).
static inline int gatehouse_pipe_nonblocking(int fds[2]) {
    return pipe2(fds, O_CLOEXEC | O_NONBLOCK);
}

#endif
