package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/persona-iam/persona/internal/sts"
)

func keysCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage the session-token key ring"}
	var c serveConfig
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Make a new key seal session tokens; older keys still verify the tokens they sealed until those expire",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return keysRotate(cmd.Context(), c, cmd.OutOrStdout())
		},
	}
	f := rotate.Flags()
	f.StringVar(&c.dataDir, "data-dir", env("PERSONA_DATA_DIR", defaultDataDir()), "data directory (PERSONA_DATA_DIR)")
	f.StringVar(&c.storeURL, "store", env("PERSONA_STORE", ""), "postgres://… store shared by the servers (PERSONA_STORE)")
	f.StringVar(&c.masterKeyFile, "master-key-file", env("PERSONA_MASTER_KEY_FILE", ""), "file holding the base64 master key (PERSONA_MASTER_KEY_FILE; or PERSONA_MASTER_KEY)")
	cmd.AddCommand(rotate)
	return cmd
}

// keysRotate rotates the ring stored in the store. It never creates a master key: a ring sealed under a new key
// would be useless to the servers.
func keysRotate(ctx context.Context, c serveConfig, out io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	box, st, err := openSealedStore(ctx, c, false)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := sts.RotateKeyring(ctx, st, box)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Key %d now seals new session tokens; running servers pick it up within seconds.\n", res.Active)
	for _, k := range res.Keys {
		state := "verifies the tokens it sealed until they expire"
		if k.ID == res.Active {
			state = "active"
		}
		fmt.Fprintf(out, "  key %d  created %s  %s\n", k.ID, k.Created.UTC().Format("2006-01-02T15:04:05Z"), state)
	}
	for _, id := range res.Pruned {
		fmt.Fprintf(out, "  key %d  removed: no token it sealed can still be live\n", id)
	}
	return nil
}
