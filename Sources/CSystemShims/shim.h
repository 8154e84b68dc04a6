#ifndef GATEHOUSE_CSYSTEMSHIMS_H
#define GATEHOUSE_CSYSTEMSHIMS_H
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

/// rename(2) that fails with EEXIST instead of replacing the target (renameat2 with
/// RENAME_NOREPLACE). glibc declares renameat2 only under _GNU_SOURCE, which Swift's Glibc
/// module does not set, so call the system call directly. Returns -1 with errno EINVAL on
/// file systems that do not support the flag.
static inline int gatehouse_rename_noreplace(const char *from, const char *to) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, 1u /* RENAME_NOREPLACE */);
}
#endif
