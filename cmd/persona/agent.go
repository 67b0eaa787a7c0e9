package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"

	"github.com/persona-iam/persona/internal/agent"
)

// Default agent addresses: loopback only. See docs/agent.md for serving IMDS on 169.254.169.254.
const (
	DefaultIMDSListen      = "127.0.0.1:9169"
	DefaultContainerListen = "127.0.0.1:9170"
)

func agentCommand() *cobra.Command {
	var (
		identityFile, imdsListen, containerListen, tokenFile, logLevel string
		imdsV1                                                         bool
		refreshBefore                                                  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Serve role credentials to workloads on this host (IMDSv2 and the container credentials endpoint)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			log := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			id, err := agent.LoadIdentityFile(identityFile)
			if err != nil {
				return err
			}
			cfg := agent.Config{Fetcher: &agent.HTTPFetcher{Identity: id}, Logger: log, RefreshBefore: refreshBefore,
				AllowIMDSv1: imdsV1, InstanceID: id.InstanceID}
			if containerListen != "" {
				if cfg.ContainerToken, err = agent.ContainerTokenFromFile(tokenFile); err != nil {
					return err
				}
			}
			a, err := agent.New(cfg)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			go a.Run(ctx)
			errc := make(chan error, 2)
			serveOn := func(addr string, h http.Handler, what string) {
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					errc <- fmt.Errorf("%s: %w", what, err)
					return
				}
				log.Info("agent listening", "endpoint", what, "addr", ln.Addr().String())
				srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
				go func() { <-ctx.Done(); srv.Close() }()
				if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					errc <- err
				}
			}
			if imdsListen != "" {
				go serveOn(imdsListen, a.IMDSHandler(), "imds")
			}
			if containerListen != "" {
				go serveOn(containerListen, a.ContainerHandler(), "container+health")
				fmt.Fprintf(cmd.OutOrStdout(), "export AWS_CONTAINER_CREDENTIALS_FULL_URI=http://%s%s\nexport AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=%s\n",
					containerListen, agent.ContainerPath, tokenFile)
			}
			if imdsListen != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "export AWS_EC2_METADATA_SERVICE_ENDPOINT=http://%s\n", imdsListen)
			}
			select {
			case <-ctx.Done():
				return nil
			case err := <-errc:
				return err
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&identityFile, "identity-file", env("PERSONA_IDENTITY_FILE", "/etc/persona/identity.json"), "instance identity written by `persona instance register` (PERSONA_IDENTITY_FILE)")
	f.StringVar(&imdsListen, "imds-listen", env("PERSONA_IMDS_LISTEN", DefaultIMDSListen), "IMDS address; 169.254.169.254:80 once set up (docs/agent.md); empty to disable (PERSONA_IMDS_LISTEN)")
	f.StringVar(&containerListen, "container-listen", env("PERSONA_CONTAINER_LISTEN", DefaultContainerListen), "container credentials and /healthz address; empty to disable (PERSONA_CONTAINER_LISTEN)")
	f.StringVar(&tokenFile, "container-token-file", env("PERSONA_CONTAINER_TOKEN_FILE", "/run/persona/container-token"), "container endpoint token, created if missing (PERSONA_CONTAINER_TOKEN_FILE)")
	f.BoolVar(&imdsV1, "imds-v1", false, "also answer IMDSv1 requests without a session token (HttpTokens=optional); off by default, as HttpTokens=required")
	f.DurationVar(&refreshBefore, "refresh-before", agent.DefaultRefreshBefore, "renew credentials this long before they expire")
	f.StringVar(&logLevel, "log-level", env("PERSONA_LOG_LEVEL", "info"), "debug, info, warn or error (PERSONA_LOG_LEVEL)")
	return cmd
}

func credentialProcessCommand() *cobra.Command {
	var identityFile string
	cmd := &cobra.Command{
		Use:   "credential-process",
		Short: "Print the instance role's credentials as credential_process JSON (for credential_process in ~/.aws/config)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := agent.LoadIdentityFile(identityFile)
			if err != nil {
				return err
			}
			resp, err := (&agent.HTTPFetcher{Identity: id}).Exchange(cmd.Context())
			if err != nil {
				return err
			}
			g := resp.Grant()
			if g.Credentials == nil {
				return fmt.Errorf("no credentials for %s: %s %s", id.InstanceID, resp.Code, resp.Message)
			}
			out, err := agent.ProcessOutput(g.Credentials)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", out)
			return err
		},
	}
	cmd.Flags().StringVar(&identityFile, "identity-file", env("PERSONA_IDENTITY_FILE", "/etc/persona/identity.json"), "instance identity file (PERSONA_IDENTITY_FILE)")
	return cmd
}

func instanceCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "instance", Short: "Register workload hosts (instances) with a Persona server"}
	var (
		endpoint, out, region string
		p                     agent.RegisterParams
	)
	reg := &cobra.Command{
		Use:   "register",
		Short: "Register this host as an instance and write its identity file (signed with your AWS credentials)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
			if err != nil {
				return err
			}
			creds, err := cfg.Credentials.Retrieve(ctx)
			if err != nil {
				return fmt.Errorf("your AWS credentials (to sign RegisterInstance): %w", err)
			}
			id, err := agent.Register(ctx, endpoint, region, creds, p)
			if err != nil {
				return err
			}
			if err := agent.WriteIdentityFile(out, id); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n", id.InstanceID)
			return nil
		},
	}
	f := reg.Flags()
	f.StringVar(&endpoint, "endpoint-url", env("AWS_ENDPOINT_URL", "http://"+DefaultListen), "Persona server URL (AWS_ENDPOINT_URL)")
	f.StringVar(&region, "region", env("AWS_REGION", "us-east-1"), "region to sign for (AWS_REGION)")
	f.StringVar(&out, "out", "identity.json", "identity file to create (mode 0600; never overwritten)")
	f.StringVar(&p.InstanceProfile, "iam-instance-profile", "", "instance profile name or ARN to associate")
	f.StringVar(&p.InstanceType, "instance-type", "", "instance type to report (t3.micro)")
	f.StringVar(&p.ImageID, "image-id", "", "AMI id to report (ami-…)")
	f.StringVar(&p.PrivateIP, "private-ip", "", "private IPv4 address to report")
	f.StringVar(&p.AvailabilityZone, "availability-zone", "", "availability zone to report (default REGIONa)")
	f.StringVar(&p.ServicePrincipal, "service-principal", "", "ec2.amazonaws.com (default) or ecs-tasks.amazonaws.com for a task role")
	cmd.AddCommand(reg)
	return cmd
}
