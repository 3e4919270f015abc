from onenet_tui.cli import main

raise SystemExit(main())
