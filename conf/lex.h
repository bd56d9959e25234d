/*
 * Tokens of btrsend.conf: words, quoted strings, braces and newlines.
 * Comments (# to end of line, outside quotes) and blanks are dropped.
 */
#ifndef BTRSEND_CONF_LEX_H
#define BTRSEND_CONF_LEX_H

#include <stddef.h>

#include "conf/conf.h"

enum conf_tok_type {
	CONF_TOK_EOF,
	CONF_TOK_NL,
	CONF_TOK_WORD,
	CONF_TOK_STRING,
	CONF_TOK_LBRACE,
	CONF_TOK_RBRACE,
};

/* line and column are 1-based; columns count bytes. */
struct conf_loc {
	const char	*file;
	int		 line;
	int		 col;
};

struct conf_tok {
	enum conf_tok_type type;
	char		*text;		/* WORD and STRING, escapes resolved */
	struct conf_loc	 loc;
};

struct conf_lex {
	const char	*file;
	const char	*buf;
	size_t		 len;
	size_t		 pos;
	int		 line;
	int		 col;
	struct conf_errors *errs;
	struct conf_tok	 tok;
	int		 have_tok;
};

void		 conf_lex_init(struct conf_lex *, const char *file,
		    const char *buf, size_t len, struct conf_errors *);
/* The next token, lexed on demand; valid until conf_lex_take(). */
const struct conf_tok *conf_lex_peek(struct conf_lex *);
void		 conf_lex_take(struct conf_lex *);
void		 conf_lex_free(struct conf_lex *);

void		 conf_error(struct conf_errors *, const struct conf_loc *,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
