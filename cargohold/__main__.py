from cargohold.cli import main

raise SystemExit(main())
