package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/crmlink/crmlink"
	crmhttp "github.com/crmlink/crmlink/http"
	"github.com/crmlink/crmlink/internal/cli"
	"golang.org/x/term"
)

// cmdUser manages the people who sign in to the dashboard with a password.
func cmdUser(ctx context.Context, args []string, e *cli.Env) error {
	if len(args) == 0 {
		return cli.Usagef("user: want add or passwd")
	}
	switch args[0] {
	case "add":
		return userAdd(ctx, args[1:], e)
	case "passwd":
		return userPasswd(ctx, args[1:], e)
	}
	return cli.Usagef("user: unknown subcommand %q (want add or passwd)", args[0])
}

func userAdd(ctx context.Context, args []string, e *cli.Env) error {
	fs := flags("user add", e)
	tgt := targetFlags(fs, e, crmlink.ScopeAdmin)
	counter := fs.String("counter", "", "counter id, or all (required)")
	scope := fs.String("scope", "read", "read, write or admin")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("user add takes one user name")
	}
	id, err := parseCounterArg(*counter)
	if err != nil {
		return err
	}
	sc, err := crmlink.ParseScope(*scope)
	if err != nil {
		return err
	}
	api, err := tgt.client()
	if err != nil {
		return err
	}
	password, err := readPassword(e)
	if err != nil {
		return err
	}
	if api != nil {
		var in crmhttp.UserIn
		in.User.Name, in.User.Password, in.User.CounterID, in.User.Scope = pos[0], password, id, sc.String()
		err = api.Call(ctx, http.MethodPost, "/management/v1/users", in, nil)
	} else {
		st, err2 := tgt.open(ctx)
		if err2 != nil {
			return err2
		}
		defer st.Close()
		err = createUser(ctx, st, pos[0], password, id, sc)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "user %s can sign in\n", pos[0])
	return nil
}

func userPasswd(ctx context.Context, args []string, e *cli.Env) error {
	fs := flags("user passwd", e)
	tgt := targetFlags(fs, e, crmlink.ScopeAdmin)
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("user passwd takes one user name")
	}
	api, err := tgt.client()
	if err != nil {
		return err
	}
	password, err := readPassword(e)
	if err != nil {
		return err
	}
	if api != nil {
		err = api.Call(ctx, http.MethodPut, "/management/v1/user/"+url.PathEscape(pos[0])+"/password", crmhttp.PasswordIn{Password: password}, nil)
	} else {
		var hash string
		if hash, err = crmhttp.HashPassword(password); err != nil {
			return err
		}
		st, err2 := tgt.open(ctx)
		if err2 != nil {
			return err2
		}
		defer st.Close()
		err = st.SetUserPassword(ctx, pos[0], hash)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "password of %s changed\n", pos[0])
	return nil
}

// createUser stores a user with a password, for one counter (id) or, with
// id 0, for all.
func createUser(ctx context.Context, st crmlink.Store, name, password string, id crmlink.CounterID, sc crmlink.Scope) error {
	if err := crmlink.ValidUserName(name); err != nil {
		return err
	}
	if id != 0 {
		if _, err := st.Counter(ctx, id); err != nil {
			return err
		}
	}
	hash, err := crmhttp.HashPassword(password)
	if err != nil {
		return err
	}
	return st.CreateUser(ctx, &crmlink.User{Name: name, PasswordHash: hash, CounterID: id, Scope: sc})
}

// readPassword takes the password from CRMLINK_PASSWORD, else asks on the
// terminal without echo, else reads the first line of stdin.
func readPassword(e *cli.Env) (string, error) {
	if p := e.Getenv("CRMLINK_PASSWORD"); p != "" {
		return p, nil
	}
	if f, ok := e.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(e.Stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.Stderr)
		return string(b), err
	}
	line, err := bufio.NewReader(e.Stdin).ReadString('\n')
	if line = strings.TrimRight(line, "\r\n"); line == "" {
		return "", cli.Usagef("no password: set CRMLINK_PASSWORD or write it to stdin (%v)", err)
	}
	return line, nil
}
