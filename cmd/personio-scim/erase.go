package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/personio-scim/personio-scim/store"
)

const eraseUsage = `Usage: personio-scim erase --personio-id N [--yes]

  Removes a person's personal data from the change log and the sync-run
  reports, for an erasure request: their change-log rows stay, with who made
  each change and why, but every before and after value becomes "[erased]";
  run-report entries naming them lose their userName and names. It cannot be
  undone; it asks for confirmation on a terminal, --yes skips the question.
  Needs DATABASE_URL (and SCIM_ID_NAMESPACE when the installation sets one).

Flags:
  --personio-id N   the person's Personio employee id
  --yes             erase without asking
`

func runErase(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := newCommand("erase", stderr, eraseUsage)
	if err != nil {
		return err
	}
	personioID := c.flags.String("personio-id", "", "the person's Personio employee id")
	yes := c.flags.Bool("yes", false, "erase without asking")
	if err := c.parse(args); err != nil {
		return err
	}
	if err := checkPersonioID(*personioID); err != nil || c.flags.NArg() != 0 {
		if err != nil {
			fmt.Fprintln(stderr, err)
		}
		fmt.Fprint(stderr, eraseUsage)
		return errUsage
	}
	if !*yes {
		if err := confirmErase(os.Stdin, isTerminal(os.Stdin), stdout); err != nil {
			return err
		}
	}
	pg, err := openPostgres(ctx, c.env, "erase")
	if err != nil {
		return err
	}
	defer pg.Close()
	if err := requireCurrentSchema(pg, "erase"); err != nil {
		return err
	}
	return erasePerson(ctx, pg, c.env.Namespace, *personioID, stdout)
}

// checkPersonioID accepts what Personio uses as employee ids: digits.
func checkPersonioID(id string) error {
	if id == "" {
		return errors.New("erase needs --personio-id")
	}
	if len(id) > 20 || strings.Trim(id, "0123456789") != "" {
		return errors.New("--personio-id wants a Personio employee id: digits, like 4711")
	}
	return nil
}

// confirmErase makes sure the erasure is meant: "yes" typed on a terminal.
func confirmErase(in io.Reader, terminal bool, stdout io.Writer) error {
	if !terminal {
		return errors.New("erase cannot be undone; pass --yes to confirm when not on a terminal")
	}
	fmt.Fprint(stdout, "erase replaces this person's data in the change log and run reports for good. Type yes to go on: ")
	answer, _ := bufio.NewReader(in).ReadString('\n')
	if strings.TrimSpace(answer) != "yes" {
		return errors.New("erase: not confirmed; nothing changed")
	}
	return nil
}

// erasePerson erases and says how much, never what: the output may end up
// in a ticket.
func erasePerson(ctx context.Context, st store.Store, ns store.Namespace, personioID string, stdout io.Writer) error {
	scimID := ns.IdentityID(personioID)
	rows, runs, err := st.ErasePerson(ctx, personioID, scimID)
	if err != nil {
		return fmt.Errorf("erase: %w", err)
	}
	fmt.Fprintf(stdout, "erased: %d change-log rows, %d run reports\n", rows, runs)
	current, err := st.IdentitiesByID(ctx, []string{scimID})
	if err != nil {
		return fmt.Errorf("erase: read the directory: %w", err)
	}
	if len(current) > 0 {
		fmt.Fprintln(stdout, "note: the person is still in the directory (Personio still lists them); "+
			"their current entry stays until Personio removes them and the next sync deletes it")
	}
	return nil
}
