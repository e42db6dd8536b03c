/*
 * mrx_wire: the messages of the sync protocol between nodes
 * (docs/protocol.md), and the only code that reads or writes their
 * frames. A message is decoded whole and checked against every limit
 * before anyone uses it; the transport (daemon/mrxd_sync.c) only moves
 * the frames.
 */
#ifndef MRX_WIRE_H
#define MRX_WIRE_H

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>

#include "mrx_cert.h"
#include "mrx_sha256.h"

#define MRX_WIRE_TAG "MRX1"              /* frame 0 of every message */
#define MRX_WIRE_MSG_MAX (8 * 1024 * 1024 + 65536) /* bytes a socket takes in one message */
#define MRX_WIRE_CASES_MAX 4096          /* cases in CASES-OK */
#define MRX_WIRE_FEEDS_MAX 256           /* feeds in HEADS-OK, FEEDS, PACK */
#define MRX_WIRE_PACK_MAX (8 * 1024 * 1024) /* bytes of a pack */
#define MRX_WIRE_PACK_EVENTS_MAX 4096    /* events one PACK adds to a feed */
#define MRX_WIRE_ERROR_MAX 512           /* bytes of an error text */
#define MRX_WIRE_COMMAND_MAX 16          /* bytes of a command name */
#define MRX_WIRE_COMMIT_LEN 40           /* hex digits of a git commit id */
#define MRX_WIRE_CHUNK_MAX (256 * 1024)  /* bytes of a CHUNK's data: a whole chunk */
#define MRX_WIRE_CREDIT_MAX 64           /* chunks one FETCH or CREDIT allows */
#define MRX_WIRE_VIEW_MAX (80 * 1024)    /* bytes of a signed view */
#define MRX_WIRE_REQUEST_MAX 4096        /* bytes of FETCH's signed request (MRX_REQUEST_MAX) */

typedef enum mrx_wire_command {
    MRX_WIRE_HELLO,
    MRX_WIRE_CASES,
    MRX_WIRE_CASES_OK,
    MRX_WIRE_HEADS,
    MRX_WIRE_HEADS_OK,
    MRX_WIRE_FEEDS,
    MRX_WIRE_PACK,
    MRX_WIRE_NOTIFY,
    MRX_WIRE_ERROR,
    MRX_WIRE_FETCH,
    MRX_WIRE_CHUNK,
    MRX_WIRE_CREDIT,
    MRX_WIRE_VIEW,
} mrx_wire_command;

/* ERROR codes (docs/protocol.md, section 8). */
typedef enum mrx_wire_error {
    MRX_WIRE_EMALFORMED = 1,
    MRX_WIRE_EUNKNOWN = 2,
    MRX_WIRE_EDENIED = 3,
    MRX_WIRE_ENOTFOUND = 4,
    MRX_WIRE_EORDER = 5,
    MRX_WIRE_ELIMIT = 6,
    MRX_WIRE_EINTERNAL = 7,
} mrx_wire_error;

/* A case both sides take part in (CASES-OK). */
typedef struct mrx_wire_case {
    char id[MRX_SHA256_HEX_LEN + 1]; /* case id */
    char owner[MRX_FPR_LEN + 1];     /* its owner */
} mrx_wire_case;

/* A feed: its author, a commit (a head, or what the asker has; "" for
 * none), and (HEADS-OK only) how many events it holds. */
typedef struct mrx_wire_feed {
    char author[MRX_FPR_LEN + 1];
    char commit[MRX_WIRE_COMMIT_LEN + 1];
    uint64_t events;
} mrx_wire_feed;

typedef struct mrx_wire_msg {
    mrx_wire_command command;
    char case_id[MRX_SHA256_HEX_LEN + 1]; /* every command but HELLO, CASES(-OK), ERROR */
    char bundle[MRX_SHA256_HEX_LEN + 1];  /* FETCH, CHUNK, CREDIT */
    uint64_t offset;                      /* FETCH: from where; CHUNK: where its data goes */
    uint64_t credit;                      /* FETCH, CREDIT: chunks the sender may send */
    char *text;                           /* HELLO: certificate; ERROR: message; VIEW: the view; FETCH: signed request */
    char error_command[MRX_WIRE_COMMAND_MAX + 1]; /* ERROR: what was refused */
    uint64_t error_code;                  /* ERROR: mrx_wire_error */
    mrx_wire_case *cases;                 /* CASES-OK */
    size_t n_cases;
    mrx_wire_feed *feeds;                 /* HEADS-OK, FEEDS, PACK */
    size_t n_feeds;
    void *data;                           /* PACK: the git pack; CHUNK: the bytes */
    size_t data_len;
    int data_borrowed;                    /* data points into the decoded zmsg (CHUNK) */
} mrx_wire_msg;

/* A new, empty message of a command. */
mrx_wire_msg *mrx_wire_msg_new(mrx_wire_command command);
void mrx_wire_msg_destroy(mrx_wire_msg **self_p);

/* The name of a command on the wire ("CASES-OK"). */
const char *mrx_wire_command_name(mrx_wire_command command);

/* Decode msg (not consumed). On failure the message names what was wrong
 * and *code is the ERROR code to answer with. A CHUNK's data is not
 * copied: it points into msg, which must outlive the decoded message. */
int mrx_wire_decode(mrx_wire_msg **out, mrx_wire_error *code, zmsg_t *msg);

/* Encode a message; NULL (with the error set) if it breaks a limit. */
zmsg_t *mrx_wire_encode(const mrx_wire_msg *self);

/* Encode a CHUNK of *data (taken, and NULL after), which may be read
 * into straight from a bundle: zframe_new(NULL, size) leaves it unset. */
zmsg_t *mrx_wire_encode_chunk(const char *case_id, const char *bundle, uint64_t offset,
                              zframe_t **data);

/* Shorthands for the two messages every side sends. */
zmsg_t *mrx_wire_error_msg(const char *command, mrx_wire_error code, const char *message);

#endif
