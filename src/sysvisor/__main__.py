from sysvisor.cli.main import main

raise SystemExit(main())
