/*
 * Ferry's exec agent: the command of a reused `exec` container. It connects to its miniworker's
 * Unix socket and, per call, starts the runtime's `run` command (`sh -c <run>`) itself, so a warm
 * exec call costs a fork and an exec inside the container rather than a `docker exec` through the
 * engine. It pipes the call's stdin in, streams stdout and stderr out as they come, and reports
 * how the command ended. Everything else (output caps, `##ferry` reports, limits, outcomes) is the
 * miniworker's. Built static, so any image can run it: no libc or interpreter needed there.
 *
 * Frames both ways: one type byte, a 4-byte big-endian payload length, the payload.
 *   miniworker → agent:  'C' start a call: `run` NUL, then `NAME=value` NUL per variable
 *                        'D' stdin bytes   'Z' end of stdin
 *   agent → miniworker:  'R' ready (once, on connect)   'O' stdout bytes   'E' stderr bytes
 *                        'X' the command ended: 4-byte big-endian exit code, 128+N for signal N
 * One call at a time. The agent exits when the miniworker closes the socket.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define HEADER 5
#define CHUNK 65536
#define DRAIN_MAX (4u * 1024u * 1024u)
/* Larger than any call the miniworker sends (params and variables are bounded well below). */
#define MAX_FRAME (256u * 1024u * 1024u)

struct buf {
  char *data;
  size_t len, cap;
};

static void buf_put(struct buf *b, const char *p, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    b->data = realloc(b->data, cap);
    if (!b->data) _exit(70);
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

static void buf_drop(struct buf *b, size_t n) {
  memmove(b->data, b->data + n, b->len - n);
  b->len -= n;
}

static int sock = -1;

/* Blocking: the miniworker always reads, so a write waits only for the socket's buffer to drain. */
static void send_frame(char type, const char *p, uint32_t n) {
  unsigned char h[HEADER] = {(unsigned char)type, n >> 24, n >> 16, n >> 8, n};
  struct iovec iov[2] = {{h, HEADER}, {(void *)p, n}};
  size_t left = HEADER + n;
  while (left > 0) {
    ssize_t w = writev(sock, iov, 2);
    if (w < 0) {
      if (errno == EINTR) continue;
      _exit(0); /* the miniworker is gone: so is this container's purpose */
    }
    left -= (size_t)w;
    for (int i = 0; i < 2 && w > 0; i++) {
      size_t step = (size_t)w < iov[i].iov_len ? (size_t)w : iov[i].iov_len;
      iov[i].iov_base = (char *)iov[i].iov_base + step;
      iov[i].iov_len -= step;
      w -= (ssize_t)step;
    }
  }
}

/* The call running now: its pid (0 when none) and our ends of its pipes (-1 once closed). */
static pid_t child = 0;
static int in_fd = -1, out_fd = -1, err_fd = -1;
static struct buf pending_in;
static int in_ended = 0;
static int exited = 0, exit_code = 0;
static sigset_t child_signals;

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

/* Whether `entry` (NAME=value) sets a variable that `vars` (n entries) also sets. */
static int overridden(const char *entry, char **vars, size_t n) {
  const char *eq = strchr(entry, '=');
  size_t len = eq ? (size_t)(eq - entry) : strlen(entry);
  for (size_t i = 0; i < n; i++)
    if (strncmp(vars[i], entry, len) == 0 && vars[i][len] == '=') return 1;
  return 0;
}

static void fail_call(const char *what) {
  char msg[256];
  int n = snprintf(msg, sizeof msg, "ferry exec agent: %s: %s\n", what, strerror(errno));
  send_frame('E', msg, (uint32_t)n);
  uint32_t code = 126;
  unsigned char c[4] = {code >> 24, code >> 16, code >> 8, code};
  send_frame('X', (char *)c, 4);
}

/* 'C': `run` NUL (NAME=value NUL)*. The call's variables win over the container's own. */
static void start_call(char *p, size_t n) {
  if (child) return; /* one call at a time: the miniworker never sends a second */
  char *run = p;
  char *end = p + n;
  size_t nvars = 0;
  for (char *q = p + strnlen(p, n) + 1; q < end; q += strnlen(q, (size_t)(end - q)) + 1) nvars++;
  size_t nenv = 0;
  while (environ[nenv]) nenv++;
  char **envp = calloc(nvars + nenv + 1, sizeof *envp);
  if (!envp) _exit(70);
  size_t k = 0;
  for (char *q = p + strnlen(p, n) + 1; q < end; q += strnlen(q, (size_t)(end - q)) + 1) envp[k++] = q;
  for (size_t i = 0; i < nenv; i++)
    if (!overridden(environ[i], envp, nvars)) envp[k++] = environ[i];
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
    fail_call("pipe");
    free(envp);
    return;
  }
  pid_t pid = fork();
  if (pid < 0) {
    fail_call("fork");
    close(in[0]), close(in[1]), close(out[0]), close(out[1]), close(err[0]), close(err[1]);
    free(envp);
    return;
  }
  if (pid == 0) {
    dup2(in[0], 0), dup2(out[1], 1), dup2(err[1], 2);
    signal(SIGPIPE, SIG_DFL);
    sigprocmask(SIG_UNBLOCK, &child_signals, NULL);
    /* The memory limit's OOM kill picks the call's processes, never the agent. */
    int adj = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (adj >= 0) {
      if (write(adj, "500", 3) < 0) { /* the agent is still far smaller than any run */ }
      close(adj);
    }
    char *argv[] = {"sh", "-c", run, NULL};
    execve("/bin/sh", argv, envp);
    dprintf(2, "ferry exec agent: cannot run /bin/sh: %s\n", strerror(errno));
    _exit(127);
  }
  free(envp);
  close(in[0]), close(out[1]), close(err[1]);
  child = pid;
  in_fd = in[1], out_fd = out[0], err_fd = err[0];
  set_nonblock(in_fd), set_nonblock(out_fd), set_nonblock(err_fd);
  exited = 0;
  in_ended = 0;
  pending_in.len = 0;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* Reads what `*fd` holds now, up to `limit` bytes, into frames of `type`; closes it at end of file. */
static void pump(int *fd, char type, size_t limit) {
  char chunk[CHUNK];
  for (size_t read_so_far = 0; read_so_far < limit;) {
    ssize_t r = read(*fd, chunk, sizeof chunk);
    if (r > 0) {
      send_frame(type, chunk, (uint32_t)r);
      read_so_far += (size_t)r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r == 0 || errno != EAGAIN) close_fd(fd);
    return;
  }
}

static void feed_stdin(void) {
  while (pending_in.len > 0) {
    ssize_t w = write(in_fd, pending_in.data, pending_in.len);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      pending_in.len = 0; /* the command closed its stdin: the rest is not wanted */
      break;
    }
    buf_drop(&pending_in, (size_t)w);
  }
  if (in_ended) close_fd(&in_fd);
}

static void on_frame(char type, char *p, size_t n) {
  switch (type) {
    case 'C':
      start_call(p, n);
      break;
    case 'D':
      if (in_fd >= 0) {
        buf_put(&pending_in, p, n);
        feed_stdin();
      }
      break;
    case 'Z':
      in_ended = 1;
      if (in_fd >= 0) feed_stdin();
      break;
  }
}

/* Reaps every child: as the container's init, orphans of earlier runs are reparented to us. */
static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    if (pid != child) continue;
    exited = 1;
    exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
}

/* The command has exited: what it wrote before is in the pipes (a pipe holds far less than
 * DRAIN_MAX); a process it left behind that still holds them, or writes on, is not waited for. */
static void finish_call(void) {
  if (out_fd >= 0) pump(&out_fd, 'O', DRAIN_MAX);
  if (err_fd >= 0) pump(&err_fd, 'E', DRAIN_MAX);
  close_fd(&out_fd), close_fd(&err_fd), close_fd(&in_fd);
  uint32_t code = (uint32_t)exit_code;
  unsigned char c[4] = {code >> 24, code >> 16, code >> 8, code};
  send_frame('X', (char *)c, 4);
  child = 0;
  exited = 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s <socket>\n", argv[0]);
    return 64;
  }
  signal(SIGPIPE, SIG_IGN);
  sigemptyset(&child_signals);
  sigaddset(&child_signals, SIGCHLD);
  sigprocmask(SIG_BLOCK, &child_signals, NULL);
  int sigfd = signalfd(-1, &child_signals, SFD_CLOEXEC | SFD_NONBLOCK);
  sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strncpy(addr.sun_path, argv[1], sizeof addr.sun_path - 1);
  if (sigfd < 0 || sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof addr) < 0) {
    perror("ferry exec agent: connect");
    return 69;
  }
  send_frame('R', NULL, 0);
  struct buf in = {0};
  char chunk[CHUNK];
  for (;;) {
    struct pollfd fds[5];
    int nfds = 0;
    fds[nfds++] = (struct pollfd){.fd = sock, .events = POLLIN};
    fds[nfds++] = (struct pollfd){.fd = sigfd, .events = POLLIN};
    if (out_fd >= 0) fds[nfds++] = (struct pollfd){.fd = out_fd, .events = POLLIN};
    if (err_fd >= 0) fds[nfds++] = (struct pollfd){.fd = err_fd, .events = POLLIN};
    if (in_fd >= 0 && (pending_in.len > 0 || in_ended)) fds[nfds++] = (struct pollfd){.fd = in_fd, .events = POLLOUT};
    if (poll(fds, (nfds_t)nfds, -1) < 0) {
      if (errno == EINTR) continue;
      return 71;
    }
    for (int i = 0; i < nfds; i++) {
      if (!fds[i].revents) continue;
      int fd = fds[i].fd;
      if (fd == sock) {
        ssize_t r = read(sock, chunk, sizeof chunk);
        if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) return 0;
        if (r > 0) buf_put(&in, chunk, (size_t)r);
        while (in.len >= HEADER) {
          unsigned char *h = (unsigned char *)in.data;
          uint32_t n = (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 8 | h[4];
          if (n > MAX_FRAME) return 65;
          if (in.len < HEADER + n) break;
          on_frame((char)h[0], in.data + HEADER, n);
          buf_drop(&in, HEADER + n);
        }
      } else if (fd == sigfd) {
        struct signalfd_siginfo si;
        while (read(sigfd, &si, sizeof si) > 0) {}
        reap();
      } else if (fd == out_fd) {
        pump(&out_fd, 'O', CHUNK);
      } else if (fd == err_fd) {
        pump(&err_fd, 'E', CHUNK);
      } else if (fd == in_fd) {
        feed_stdin();
      }
    }
    if (child && exited) finish_call();
  }
}
